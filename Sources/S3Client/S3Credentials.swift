//===----------------------------------------------------------------------===//
// ImageGate: S3 credentials from the environment or a 0600 file; printed without the secret.
//===----------------------------------------------------------------------===//
import Glibc

/// An access key pair (and an optional STS session token). The secret and the token are readable only inside
/// this module (the signer); `description` prints the access key id and `***`, so interpolating credentials
/// into a log line or an error never leaks them. The access key id is not a secret: every signed request
/// carries it in clear text.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let accessKeyID: String
    let secretAccessKey: String
    let sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) throws(S3Error) {
        guard !accessKeyID.isEmpty, !secretAccessKey.isEmpty else {
            throw .configuration("S3 credentials need both an access key id and a secret access key")
        }
        // They travel in an HTTP header: no control characters, no spaces (AWS keys are base64/alnum).
        for (name, value) in [
            ("access key id", accessKeyID), ("secret access key", secretAccessKey),
            ("session token", sessionToken ?? ""),
        ]
        where value.utf8.contains(where: { $0 <= 32 || $0 == 127 }) {
            throw .configuration("the S3 \(name) contains white space or control characters")
        }
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var hasSessionToken: Bool { sessionToken != nil }

    public var description: String {
        "S3Credentials(access key \(accessKeyID), secret ***\(sessionToken == nil ? "" : ", session token ***"))"
    }

    public var debugDescription: String { description }

    /// `dump`, `Mirror` and debuggers see the redacted form too, never the stored secret.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": accessKeyID, "secretAccessKey": "***",
                "sessionToken": sessionToken == nil ? "nil" : "***",
            ])
    }

    /// Replaces the secret key and the session token wherever they occur in `text` with `***`. Stores do not
    /// echo secrets today; this keeps any future message (or a libcurl text) from doing so.
    public func scrub(_ text: String) -> String {
        var out = text
        for secret in [secretAccessKey, sessionToken].compactMap({ $0 }) where !secret.isEmpty {
            out = out.replacing(secret, with: "***")
        }
        return out
    }

    // MARK: Sources

    /// `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ optional `AWS_SESSION_TOKEN`), the names every AWS tool
    /// reads. nil when neither key variable is set; one without the other is an error.
    public static func fromEnvironment(_ environment: [String: String]) throws(S3Error) -> S3Credentials? {
        let id = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (id, secret) {
        case (nil, nil): return nil
        case (nil, _?): throw .configuration("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (_?, nil): throw .configuration("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (let id?, let secret?):
            return try S3Credentials(
                accessKeyID: id, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
        }
    }

    /// The process environment as a dictionary (for `fromEnvironment`).
    public static var processEnvironment: [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                out[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            p += 1
        }
        return out
    }

    /// The credentials file when one is configured, else the environment; neither is an error saying both ways.
    public static func resolve(file: String?, environment: [String: String]) throws(S3Error) -> S3Credentials {
        if let file { return try S3CredentialsFile.load(path: file) }
        if let fromEnv = try fromEnvironment(environment) { return fromEnv }
        throw .configuration(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a credentials file "
                + "(mode 0600)")
    }
}
