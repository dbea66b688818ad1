//===----------------------------------------------------------------------===//
// ImageGate: s3:// location parsing, endpoint checks and addressing (no store needed).
//===----------------------------------------------------------------------===//

import Testing

@testable import S3Client

@Suite struct S3LocationTests {
    @Test("a full location: bucket, decoded prefix, endpoint, region, path style")
    func full() throws {
        let l = try S3Location(
            "s3://images-prod/gate%20one/v1/?endpoint=http://127.0.0.1:8333&region=eu-central-1&path_style=true")
        #expect(l.bucket == "images-prod" && l.prefix == "gate one/v1")
        #expect(l.endpoint == (try S3Endpoint("http://127.0.0.1:8333")))
        #expect(l.endpoint.hostHeader == "127.0.0.1:8333" && l.region == "eu-central-1" && l.pathStyle)
        #expect(l.key("x") == "gate one/v1/x")
        #expect(l.imageObjectKey(imageID: "img_01", generation: 3) == "gate one/v1/images/img_01/3")
        #expect(l.address(key: "images/a b/1") == ("127.0.0.1:8333", "/images-prod/images/a%20b/1"))
        #expect(l.address(key: nil) == ("127.0.0.1:8333", "/images-prod"))
        #expect(
            l.description
                == "s3://images-prod/gate%20one/v1?endpoint=http://127.0.0.1:8333&region=eu-central-1&path_style=true")
    }

    @Test("defaults: no prefix, us-east-1, AWS endpoint with virtual-hosted addressing; path style with an endpoint")
    func defaults() throws {
        let aws = try S3Location("s3://my-bucket")
        #expect(aws.prefix == "" && aws.region == "us-east-1" && !aws.pathStyle)
        #expect(aws.endpoint.description == "https://s3.us-east-1.amazonaws.com")
        #expect(aws.address(key: "k/1") == ("my-bucket.s3.us-east-1.amazonaws.com", "/k/1"))
        #expect(aws.key("images/x/1") == "images/x/1")
        let local = try S3Location("s3://my-bucket/p?endpoint=https://store.example")
        #expect(local.pathStyle && local.endpoint.port == 443 && local.endpoint.hostHeader == "store.example")
        let v6 = try S3Location("s3://my-bucket?endpoint=http://[::1]:9000")
        #expect(v6.endpoint.host == "::1" && v6.endpoint.hostHeader == "[::1]:9000")
    }

    @Test(
        "malformed locations are refused with the reason",
        arguments: [
            ("http://bucket/p", "s3://"),
            ("s3://ab", "3 to 63"),
            ("s3://Upper", "a-z"),
            ("s3://-bucket", "start and end"),
            ("s3://a..b", ".."),
            ("s3://192.168.1.10", "IP address"),
            ("s3://key:SECRET@bucket/p", "credentials"),
            ("s3://bucket/p?endpoint=ftp://h", "http:// or https://"),
            ("s3://bucket/p?endpoint=http://u:SECRET@h", "credentials"),
            ("s3://bucket/p?endpoint=http://h/path", "no path"),
            ("s3://bucket/p?endpoint=http://h:99999", "port"),
            ("s3://bucket/p?endpoint=http://h&endpoint=http://i", "twice"),
            ("s3://bucket/p?path_style=yes", "true or false"),
            ("s3://bucket/p?region=us east", "region"),
            ("s3://bucket/p?secret=SECRET", "unknown parameter"),
            ("s3://bucket/a//b", "empty segment"),
            ("s3://bucket/a/../b", ". or .."),
            ("s3://bucket/a%2Fb", "%2F"),
            ("s3://bucket/a%zz", "%-escape"),
            ("s3://bucket/p#x", "fragment"),
            ("s3://bucket/p?endpoint=http://10.0.0.1:9000&path_style=false", "host name"),
            ("s3://my.bucket/p?path_style=false", "path_style=true"),
        ])
    func refused(text: String, reason: String) {
        #expect {
            try S3Location(text)
        } throws: { error in
            guard let e = error as? S3Error else { return false }
            return e.kind == .configuration && e.message.contains(reason) && !"\(e)".contains("SECRET")
        }
    }
}
