//===----------------------------------------------------------------------===//
// ImageGate: S3 credentials from the environment and from a 0600 file; never printed.
//===----------------------------------------------------------------------===//

import Glibc
import Testing

@testable import S3Client

@Suite struct S3CredentialsTests {
    @Test("environment: both keys (and a token), neither, or one missing")
    func environment() throws {
        let c = try #require(
            try S3Credentials.fromEnvironment([
                "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRETVALUE", "AWS_SESSION_TOKEN": "TOKENVALUE",
            ]))
        #expect(c.accessKeyID == "AKID" && c.secretAccessKey == "SECRETVALUE" && c.sessionToken == "TOKENVALUE")
        #expect(try S3Credentials.fromEnvironment(["HOME": "/root"]) == nil)
        #expect(throws: S3Error.self) { try S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID"]) }
        #expect {
            try S3Credentials.fromEnvironment(["AWS_SECRET_ACCESS_KEY": "SECRETVALUE"])
        } throws: { e in
            "\(e)".contains("AWS_ACCESS_KEY_ID is not") && !"\(e)".contains("SECRETVALUE")
        }
        #expect {
            try S3Credentials.resolve(file: nil, environment: [:])
        } throws: { e in (e as? S3Error)?.kind == .configuration && "\(e)".contains("no S3 credentials") }
    }

    @Test("description and scrub never show the secret or the token")
    func redaction() throws {
        let c = try S3Credentials(accessKeyID: "AKID", secretAccessKey: "SECRETVALUE", sessionToken: "TOKENVALUE")
        #expect("\(c)" == "S3Credentials(access key AKID, secret ***, session token ***)")
        #expect(c.scrub("x SECRETVALUE y TOKENVALUE z") == "x *** y *** z")
        // Nor do debug printing, dump (a Mirror) or a value holding the credentials.
        var dumped = ""
        dump(c, to: &dumped)
        let signer = SigV4Signer(credentials: c, region: "us-east-1")
        for text in [String(reflecting: c), dumped, "\(signer)", String(reflecting: signer)] {
            #expect(!text.contains("SECRETVALUE") && !text.contains("TOKENVALUE") && text.contains("AKID"))
        }
        #expect(throws: S3Error.self) { try S3Credentials(accessKeyID: "AK ID", secretAccessKey: "s") }
        #expect(throws: S3Error.self) { try S3Credentials(accessKeyID: "AKID", secretAccessKey: "") }
    }

    @Test("the file syntax: [default], comments, CRLF, optional token")
    func fileSyntax() throws {
        let c = try S3CredentialsFile.parse(
            "# store\r\n[default]\r\naws_access_key_id = AKID\r\n; note\r\naws_secret_access_key=SECRET/VALUE+x\r\n\r\n",
            path: "f")
        #expect(c.accessKeyID == "AKID" && c.secretAccessKey == "SECRET/VALUE+x" && c.sessionToken == nil)
        let t = try S3CredentialsFile.parse(
            "aws_access_key_id = A\naws_secret_access_key = S\naws_session_token = T\n", path: "f")
        #expect(t.sessionToken == "T")
    }

    @Test(
        "file syntax errors name the line, never the value",
        arguments: [
            ("aws_access_key_id = A\naws_secret_access_key = SECRETVALUE\nregion = x\n", "line 3: unknown key"),
            ("[prod]\naws_access_key_id = A\naws_secret_access_key = SECRETVALUE\n", "line 1: only a [default]"),
            (
                "aws_access_key_id = A\naws_access_key_id = B\naws_secret_access_key = SECRETVALUE\n",
                "line 2: aws_access_key_id given twice"
            ),
            ("aws_access_key_id A\naws_secret_access_key = SECRETVALUE\n", "line 1: expected key = value"),
            ("aws_secret_access_key = SECRETVALUE\n", "no aws_access_key_id"),
            ("aws_access_key_id = A\n", "no aws_secret_access_key"),
            ("aws_access_key_id = A\naws_secret_access_key =\n", "line 2: aws_secret_access_key is empty"),
        ])
    func fileErrors(text: String, reason: String) {
        #expect {
            try S3CredentialsFile.parse(text, path: "creds")
        } throws: { e in
            guard let e = e as? S3Error else { return false }
            return e.kind == .configuration && e.message.contains(reason) && !e.message.contains("SECRETVALUE")
        }
    }

    @Test("the file's mode: 0600 and 0400 are accepted, 0640 and 0644 refused with the chmod to run")
    func fileMode() throws {
        var template = Array("/tmp/imagegate-s3creds.XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { unlink(path) }
        let text = "aws_access_key_id = AKID\naws_secret_access_key = SECRETVALUE\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        for mode: mode_t in [0o600, 0o400] {
            chmod(path, mode)
            #expect(try S3CredentialsFile.load(path: path).accessKeyID == "AKID")
            #expect(
                try S3Credentials.resolve(file: path, environment: ["AWS_ACCESS_KEY_ID": "ENV"]).accessKeyID == "AKID")
        }
        for mode: mode_t in [0o640, 0o644, 0o606] {
            chmod(path, mode)
            #expect {
                try S3CredentialsFile.load(path: path)
            } throws: { e in
                let m = (e as? S3Error)?.message ?? ""
                return m.contains("has mode 0\(String(mode, radix: 8))") && m.contains("chmod 600")
                    && !m.contains("SECRETVALUE")
            }
        }
        #expect {
            try S3CredentialsFile.load(path: path + ".missing")
        } throws: { e in (e as? S3Error)?.message.contains("cannot open") ?? false }
        #expect {
            try S3CredentialsFile.load(path: "/tmp")
        } throws: { e in (e as? S3Error)?.message.contains("not a regular file") ?? false }
    }
}
