//===----------------------------------------------------------------------===//
// ImageGate: the Signature Version 4 signer against published test vectors.
//===----------------------------------------------------------------------===//

import CryptoPrimitives
import Testing

@testable import S3Client

/// One vector: the request as the suite's `request.txt` gives it (path and query decoded; the test encodes the
/// path as S3Client does), and the suite's `header-canonical-request.txt`, `header-string-to-sign.txt` and
/// `header-signature.txt`.
struct SigV4Vector: CustomTestStringConvertible, Sendable {
    let name: String
    let method: String
    let path: String
    var query: [(String, String)] = []
    let headers: [(String, String)]
    var token: String? = nil
    var payloadHash = SigV4Signer.emptyPayloadHash
    let canonicalRequest: String
    let stringToSign: String
    let signature: String
    var testDescription: String { name }
}

@Suite struct SigV4SignerTests {
    /// The AWS SigV4 test suite, as kept in awslabs/aws-c-auth `tests/aws-signing-test-suite/v4/<name>/`
    /// (commit 495329c), credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1,
    /// service "service", 2015-08-30T12:36:00Z. Only vectors whose rules S3 shares are used (S3 does not
    /// normalize paths, so the `*-normalized` dot-segment vectors do not apply).
    static let suite: [SigV4Vector] = [
        SigV4Vector(
            name: "get-vanilla", method: "GET", path: "/", headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SigV4Vector(
            name: "get-vanilla-query-order-key-case", method: "GET", path: "/",
            query: [("Param2", "value2"), ("Param1", "value1")], headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
            signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        SigV4Vector(
            name: "get-vanilla-query-order-encoded", method: "GET", path: "/",
            query: [("Param-3", "Value3"), ("Param", "Value2"), ("\u{1234}", "Value1")],
            headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71",
            signature: "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"),
        SigV4Vector(
            name: "get-vanilla-query-unreserved", method: "GET", path: "/",
            query: [
                (
                    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                )
            ], headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
            signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
        SigV4Vector(
            name: "get-vanilla-utf8-query", method: "GET", path: "/", query: [("\u{1234}", "bar")],
            headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\neb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
            signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        SigV4Vector(
            name: "get-unreserved", method: "GET",
            path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
            signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        SigV4Vector(
            name: "get-utf8", method: "GET", path: "/\u{1234}", headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
            signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        SigV4Vector(
            name: "get-space-unnormalized", method: "GET", path: "/example space/",
            headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
            signature: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
        SigV4Vector(
            name: "get-header-key-duplicate", method: "GET", path: "/",
            headers: [
                ("Host", "example.amazonaws.com"), ("My-Header1", "value2"), ("My-Header1", "value2"),
                ("My-Header1", "value1"),
            ],
            canonicalRequest:
                "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ndc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
            signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        SigV4Vector(
            name: "get-header-value-trim", method: "GET", path: "/",
            headers: [("Host", "example.amazonaws.com"), ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
            canonicalRequest:
                "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\na726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
            signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        SigV4Vector(
            name: "post-header-key-case", method: "POST", path: "/", headers: [("Host", "example.amazonaws.com")],
            canonicalRequest:
                "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
            signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        SigV4Vector(
            name: "post-header-value-case", method: "POST", path: "/",
            headers: [("Host", "example.amazonaws.com"), ("My-Header1", "VALUE1")],
            canonicalRequest:
                "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nd51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
            signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        SigV4Vector(
            name: "get-vanilla-with-session-token", method: "GET", path: "/",
            headers: [("Host", "example.amazonaws.com")],
            token: "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
            canonicalRequest:
                "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
            signature: "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
        SigV4Vector(
            name: "post-x-www-form-urlencoded", method: "POST", path: "/",
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com"),
                ("Content-Length", "13"),
                ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
            ],
            payloadHash: "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            canonicalRequest:
                "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nx-amz-date:20150830T123600Z\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            stringToSign:
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nb1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
            signature: "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"),
    ]

    /// 2015-08-30T12:36:00Z
    static let suiteTime: Int64 = 1_440_938_160

    @Test("the AWS SigV4 test suite: canonical request, string to sign and signature", arguments: suite)
    func suiteVector(_ v: SigV4Vector) throws {
        let creds = try S3Credentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            sessionToken: v.token)
        let signer = SigV4Signer(credentials: creds, region: "us-east-1", service: "service")
        let request = SigV4Signer.Request(
            method: v.method, path: S3URIEncoding.encode(v.path, keepSlash: true), query: v.query, headers: v.headers,
            payloadHash: v.payloadHash)
        let signed = signer.sign(request, at: Self.suiteTime)
        #expect(signed.canonicalRequest == v.canonicalRequest)
        #expect(signed.stringToSign == v.stringToSign)
        #expect(signed.signature == v.signature)
        let signedHeaders = v.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false).dropLast().last!
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=\(signedHeaders), Signature=\(v.signature)")
        #expect(signed.addedHeaders.first! == ("x-amz-date", "20150830T123600Z"))
        #expect(signed.addedHeaders.contains { $0 == ("x-amz-security-token", v.token ?? "") } == (v.token != nil))
    }

    /// The worked examples of the S3 API reference, "Signature Calculations for the Authorization Header:
    /// Transferring Payload in a Single Chunk" (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
    /// bucket examplebucket, AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, us-east-1, s3,
    /// 2013-05-24T00:00:00Z. The signatures were also checked against several independent implementations'
    /// tests that quote the same page.
    static let s3Examples: [SigV4Vector] = [
        SigV4Vector(
            name: "GET Object with Range", method: "GET", path: "/test.txt",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
            ],
            canonicalRequest:
                "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        SigV4Vector(
            name: "PUT Object test$file.text", method: "PUT", path: "/test$file.text",
            headers: [
                ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("Host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
            ],
            payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            canonicalRequest:
                "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\nx-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\ndate;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            stringToSign:
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        SigV4Vector(
            name: "GET Bucket Lifecycle", method: "GET", path: "/", query: [("lifecycle", "")],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
            ],
            canonicalRequest:
                "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
            signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        SigV4Vector(
            name: "GET Bucket (List Objects)", method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
            ],
            canonicalRequest:
                "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            stringToSign:
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\ndf57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ]

    @Test("the S3 API reference's worked examples", arguments: s3Examples)
    func s3Example(_ v: SigV4Vector) throws {
        let creds = try S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        let signer = SigV4Signer(credentials: creds, region: "us-east-1")
        let request = SigV4Signer.Request(
            method: v.method, path: S3URIEncoding.encode(v.path, keepSlash: true), query: v.query, headers: v.headers,
            payloadHash: v.payloadHash)
        let signed = signer.sign(request, at: 1_369_353_600)
        #expect(signed.canonicalRequest == v.canonicalRequest)
        #expect(signed.stringToSign == v.stringToSign)
        #expect(signed.signature == v.signature)
    }

    @Test("UriEncode: unreserved kept, everything else %XY upper-case, '/' only where asked, space never '+'")
    func uriEncode() {
        #expect(S3URIEncoding.encode("a b+c/d~e_f.g-h*") == "a%20b%2Bc%2Fd~e_f.g-h%2A")
        #expect(S3URIEncoding.encode("images/a b/1", keepSlash: true) == "images/a%20b/1")
        #expect(S3URIEncoding.encode("\u{e9}=&?#%") == "%C3%A9%3D%26%3F%23%25")
        #expect(
            SigV4Signer.canonicalQuery([("b", "2"), ("a", "x y"), ("a", "1"), ("uploads", "")])
                == "a=1&a=x%20y&b=2&uploads=")
    }

    @Test("the signed text never holds the secret; the signing key changes with the secret")
    func noSecretInOutput() throws {
        let creds = try S3Credentials(accessKeyID: "AKID", secretAccessKey: "VERYSECRETKEY", sessionToken: "TOKENVALUE")
        let signer = SigV4Signer(credentials: creds, region: "us-east-1")
        let signed = signer.sign(
            SigV4Signer.Request(
                method: "GET", path: "/b/k", headers: [("Host", "h")], payloadHash: SigV4Signer.unsignedPayload),
            at: 0)
        for text in [signed.canonicalRequest, signed.stringToSign, signed.authorization, "\(creds)"] {
            #expect(!text.contains("VERYSECRETKEY"))
        }
        #expect(!"\(creds)".contains("TOKENVALUE"))
        let other = SigV4Signer(
            credentials: try S3Credentials(accessKeyID: "AKID", secretAccessKey: "other"), region: "us-east-1")
        #expect(other.signingKey(day: "19700101") != signer.signingKey(day: "19700101"))
    }
}
