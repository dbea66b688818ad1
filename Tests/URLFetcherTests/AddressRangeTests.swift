//===----------------------------------------------------------------------===//
// ImageGate: AddressRange, DestinationCheck, URL parsing and redaction — the pure parts of URL import.
//===----------------------------------------------------------------------===//

import Testing

@testable import URLFetcher

@Suite struct AddressRangeTests {
    @Test("CIDR parsing normalises host bits and rejects non-canonical text")
    func parsing() {
        #expect(AddressRange(cidr: "10.1.2.3/8") == AddressRange(cidr: "10.0.0.0/8"))
        #expect(AddressRange(cidr: "127.0.0.1")?.prefixLength == 32)
        #expect(AddressRange(cidr: "fd00:ec2::254")?.prefixLength == 128)
        #expect(AddressRange(cidr: "fc00::/7")?.description == "fc00::/7")
        let bad = ["", "10/8", "0177.0.0.1/32", "2130706433", "10.0.0.0/33", "::/129", "1.2.3.4/-1", "x", "1.2.3.4/+8"]
        for bad in bad {
            #expect(AddressRange(cidr: bad) == nil, "\(bad)")
        }
    }

    @Test("containment works across IPv4 and IPv4-mapped IPv6")
    func containment() {
        let loop = AddressRange(cidr: "127.0.0.0/8")!
        #expect(loop.contains([127, 9, 9, 9]))
        #expect(!loop.contains([128, 0, 0, 1]))
        #expect(loop.contains(IPAddressText.parse("::ffff:127.0.0.1")!))
        #expect(!loop.contains(IPAddressText.parse("::1")!))
        let mapped = AddressRange(cidr: "::ffff:10.0.0.0/104")!
        #expect(mapped.contains([10, 1, 2, 3]))
        #expect(AddressRange(cidr: "0.0.0.0/0")!.contains([8, 8, 8, 8]))
    }

    @Test(
        "Docs/protocols.md §4.1 block list refuses private, loopback, link-local, metadata and embedded-v4 addresses",
        arguments: [
            "0.0.0.0", "10.0.0.5", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254", "172.16.0.1",
            "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.51.100.7",
            "203.0.113.9", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::", "::1", "::127.0.0.1",
            "::ffff:10.0.0.1", "::ffff:8.8.8.8", "64:ff9b::a00:5", "64:ff9b:1::1", "100::1", "2001::1",
            "2001:db8::1", "fc00::1", "fd00:ec2::254", "fe80::1", "fec0::1", "ff02::1", "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
        ])
    func blocked(_ text: String) {
        let address = IPAddressText.parse(text)!
        #expect(DestinationCheck.refusal(for: address, policy: FetchPolicy()) != nil)
    }

    @Test(
        "public addresses pass, also through NAT64 and 6to4",
        arguments: [
            "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1",
        ])
    func allowed(_ text: String) {
        #expect(DestinationCheck.refusal(for: IPAddressText.parse(text)!, policy: FetchPolicy()) == nil)
    }

    @Test("the admin allow-list lifts the block only for its ranges; the deny-list always wins")
    func allowAndDeny() {
        var policy = FetchPolicy()
        policy.allowedPrivateRanges = [AddressRange(cidr: "127.0.0.1/32")!, AddressRange(cidr: "10.20.0.0/16")!]
        #expect(DestinationCheck.refusal(for: [127, 0, 0, 1], policy: policy) == nil)
        #expect(DestinationCheck.refusal(for: IPAddressText.parse("::ffff:127.0.0.1")!, policy: policy) == nil)
        #expect(DestinationCheck.refusal(for: [127, 0, 0, 2], policy: policy) != nil)
        #expect(DestinationCheck.refusal(for: [10, 20, 3, 4], policy: policy) == nil)
        #expect(DestinationCheck.refusal(for: [10, 21, 3, 4], policy: policy) != nil)
        #expect(DestinationCheck.refusal(for: [169, 254, 169, 254], policy: policy) != nil)
        policy.deniedRanges = [AddressRange(cidr: "10.20.30.0/24")!, AddressRange(cidr: "8.8.8.8")!]
        #expect(DestinationCheck.refusal(for: [10, 20, 30, 1], policy: policy) != nil)
        #expect(DestinationCheck.refusal(for: [8, 8, 8, 8], policy: policy) != nil)
        #expect(DestinationCheck.refusal(for: IPAddressText.parse("64:ff9b::808:808")!, policy: policy) != nil)
    }

    @Test(
        "numeric host spellings resolve to the address they mean",
        arguments: [
            "2130706433", "0177.0.0.1", "127.1", "0x7f.1", "0x7f000001", "127.0.0.1",
        ])
    func numericForms(_ host: String) throws {
        #expect(try HostResolver.resolve(host) == [[127, 0, 0, 1]])
        let target = try FetchTarget.parse("http://\(host)/x", policy: FetchPolicy())
        #expect(target.host == "127.0.0.1")
    }
}

@Suite struct URLParsingTests {
    func failure(_ url: String, _ policy: FetchPolicy = FetchPolicy()) -> FetchFailure? {
        URLFetch(url: url, policy: policy).urlFailure
    }

    @Test(
        "only http, https and ftp",
        arguments: [
            "file:///etc/passwd", "gopher://127.0.0.1:70/_x", "dict://127.0.0.1:11211/stat", "sftp://h/x", "ftps://h/x",
            "data:text/plain,hi", "ldap://h/", "HTTPX://h/", "scp://h/x", "tftp://h/x", "telnet://h/",
        ])
    func schemes(_ url: String) {
        #expect(failure(url)?.code == "scheme_not_allowed", "\(url)")
    }

    @Test("a scheme the admin removed is refused")
    func policySchemes() {
        var policy = FetchPolicy()
        policy.schemes = ["https"]
        #expect(failure("http://example.com/x", policy)?.code == "scheme_not_allowed")
        #expect(failure("HTTPS://example.com/x", policy) == nil)
    }

    @Test(
        "malformed URLs, userinfo on http(s), odd hosts and FTP directory/typecode",
        arguments: [
            "http://user:pass@example.com/x", "https://good.example@evil.example/", "http://:pw@example.com/",
            "example.com/x", "http://exa mple.com/", "http://exämple.com/", "http://[fe80::1%25eth0]/",
            "http://example.com:0/", "http://example.com:99999/", "ftp://u:p@h.example/dir/",
            "ftp://u:p@h.example/f;type=a", "http://[1.2.3.4]/", " http://example.com/",
        ])
    func badURLs(_ url: String) {
        #expect(failure(url)?.code == "bad_url", "\(url)")
    }

    @Test("what libcurl's parser normalises is what gets checked (one parser, no differential)")
    func normalisation() throws {
        #expect(try FetchTarget.parse("http:///x", policy: FetchPolicy()).host == "x")
        #expect(try FetchTarget.parse("http://a%2eb/", policy: FetchPolicy()).host == "a.b")
        #expect(try FetchTarget.parse("HTTP://EXAMPLE.com/", policy: FetchPolicy()).host == "example.com")
        let ftp = try FetchTarget.parse("ftp://u%3Ax:p%40ss@h.example/f", policy: FetchPolicy())
        #expect(ftp.user == "u:x" && ftp.password == "p@ss" && ftp.curlURL == "ftp://h.example/f")
    }

    @Test("ports outside an admin allow-list are refused; defaults are resolved first")
    func ports() {
        var policy = FetchPolicy()
        policy.allowedPorts = FetchPolicy.commonPorts
        #expect(failure("http://example.com/", policy) == nil)
        #expect(failure("https://example.com:8443/", policy) == nil)
        #expect(failure("ftp://u:p@example.com/f", policy) == nil)
        #expect(failure("http://example.com:6379/", policy)?.code == "port_not_allowed")
        #expect(failure("http://example.com:6379/", FetchPolicy()) == nil, "nil = any port")
    }

    @Test("redaction keeps the user, never the password or the query")
    func redaction() {
        #expect(
            URLRedaction.redact("ftp://user:secretpw@host.example:21/p/img.qcow2")
                == "ftp://user:***@host.example:21/p/img.qcow2")
        #expect(URLRedaction.redact("https://h.example/a.iso?X-Sig=abc#frag") == "https://h.example/a.iso?***")
        #expect(URLRedaction.redact("ftp://user:s%40cret@h/x") == "ftp://user:***@h/x")
        #expect(URLRedaction.redact("ftp://:pw@h/x") == "ftp://:***@h/x")
        // Not a URL libcurl accepts: the lexical fallback still removes the password.
        let weird = URLRedaction.redact("ftp://user:secretpw@ho st/x?tok=1")
        #expect(!weird.contains("secretpw") && !weird.contains("tok=1"), "\(weird)")
        #expect(
            URLRedaction.scrub("Access denied for secretpw and s%40cret", secrets: ["secretpw", "s@cret"])
                == "Access denied for *** and ***")
        #expect(URLRedaction.lexical("see ftp://a:b@c/d?e and http://x/y") == "see ftp://a:***@c/d?*** and http://x/y")
    }

    @Test("Content-Range parsing")
    func contentRange() {
        #expect(ContentRange("bytes 10-19/20") == ContentRange("bytes 10-19/20"))
        #expect(ContentRange("bytes 10-19/20")?.first == 10)
        #expect(ContentRange("bytes */20")?.total == 20)
        #expect(ContentRange("bytes 10-19/*")?.total == nil)
        for bad in ["bytes 10-20/20", "bytes 5-4/20", "items 1-2/3", "bytes 1-2", "bytes x-2/3"] {
            #expect(ContentRange(bad) == nil, "\(bad)")
        }
    }
}
