//===----------------------------------------------------------------------===//
// ImageGate: the S3 credentials file: `key = value` lines, mode 0600 or stricter, errors without values.
//===----------------------------------------------------------------------===//
import Glibc
import SystemIO

/// Reads a credentials file in the syntax of AWS's shared credentials file, limited to one profile:
///
///     # object store for imagegate
///     [default]
///     aws_access_key_id = AKIAIOSFODNN7EXAMPLE
///     aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
///     aws_session_token = …            (optional)
///
/// Blank lines and `#`/`;` comments are skipped; the `[default]` header is optional and no other section is
/// accepted; an unknown or repeated key is refused, like an unknown config key. The file must be a regular
/// file that neither group nor others can read or write (mode 0600, 0400 or stricter): a secret that other
/// users can read is refused at start, as ssh refuses such a private key. Errors name the path and the line,
/// never a value.
public enum S3CredentialsFile {
    /// Larger than any real credentials file; a bound so a wrong path (a device, a log) is not read whole.
    static let maxBytes = 64 * 1024

    public static func load(path: String) throws(S3Error) -> S3Credentials {
        let fd: Int32
        do {
            fd = try FileIO.open(path, O_RDONLY | O_CLOEXEC)
        } catch {
            throw .configuration("cannot open the S3 credentials file \(path): \(error.reason)")
        }
        defer { Sys.close(fd) }
        let st: FileStatus
        do {
            st = try FileIO.status(of: fd)
        } catch {
            throw .configuration("cannot stat the S3 credentials file \(path): \(error.reason)")
        }
        guard st.isRegularFile else {
            throw .configuration("the S3 credentials file \(path) is not a regular file")
        }
        let mode = st.mode & 0o777
        guard mode & 0o077 == 0 else {
            throw .configuration(
                "the S3 credentials file \(path) has mode \(octal(mode)): group or others may read it; "
                    + "chmod 600 \(path)")
        }
        guard st.size <= UInt64(maxBytes) else {
            throw .configuration("the S3 credentials file \(path) is larger than \(maxBytes) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.size))
        let filled: Int
        do {
            filled = try bytes.withUnsafeMutableBytes { b in
                Result { () throws(SystemError) in try FileIO.preadFully(fd, into: b, at: 0) }
            }.get()
        } catch {
            throw .configuration("cannot read the S3 credentials file \(path): \(error.reason)")
        }
        guard let text = String(validating: bytes[..<filled], as: UTF8.self) else {
            throw .configuration("the S3 credentials file \(path) is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// The file's text to credentials (separate from `load` so the syntax is testable without files).
    static func parse(_ text: String, path: String) throws(S3Error) -> S3Credentials {
        var values: [String: String] = [:]
        let known = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"]
        for (index, raw) in lines(text).enumerated() {
            let line = raw.trimmingCharacters(in: " \t\r")
            let location = "\(path) line \(index + 1)"
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line == "[default]" else {
                    throw .configuration("\(location): only a [default] section is accepted")
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw .configuration("\(location): expected key = value")
            }
            let key = line[..<eq].trimmingCharacters(in: " \t")
            let value = line[line.index(after: eq)...].trimmingCharacters(in: " \t")
            guard known.contains(key) else {
                let printable = String(
                    key.prefix(40).unicodeScalars.map { $0.isASCII && $0.value >= 32 ? Character($0) : "?" })
                throw .configuration(
                    "\(location): unknown key \"\(printable)\" (known: \(known.joined(separator: ", ")))")
            }
            guard values[key] == nil else { throw .configuration("\(location): \(key) given twice") }
            guard !value.isEmpty else { throw .configuration("\(location): \(key) is empty") }
            values[key] = value
        }
        guard let id = values["aws_access_key_id"] else {
            throw .configuration("the S3 credentials file \(path) has no aws_access_key_id")
        }
        guard let secret = values["aws_secret_access_key"] else {
            throw .configuration("the S3 credentials file \(path) has no aws_secret_access_key")
        }
        return try S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }

    /// Lines split at LF or CRLF ("\r\n" is one Swift Character, distinct from "\n").
    private static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }

    private static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

extension StringProtocol {
    /// The text without the given characters at either end.
    func trimmingCharacters(in set: String) -> String {
        let isTrimmed: (Character) -> Bool = { set.contains($0) }
        return String(self.drop(while: isTrimmed).reversed().drop(while: isTrimmed).reversed())
    }
}
