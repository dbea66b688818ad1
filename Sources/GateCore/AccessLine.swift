//===----------------------------------------------------------------------===//
// ImageGate: the one builder of access-log lines, shared by the HTTP, FTP and SFTP fronts.
//===----------------------------------------------------------------------===//

/// One access-log line: a flat JSON object written into a single buffer, fields in the order they are added
/// (Docs/operations.md "Access log"). Every front starts with `time` and `proto`, then adds its own fields; the
/// line is built on hot paths, so values are escaped straight into the buffer (no intermediate strings).
public struct AccessLine {
    private var text: String

    /// Starts `{"time":"<RFC 3339>","proto":"<proto>"`; `unixSeconds` is wall-clock time.
    public init(unixSeconds: Int64, proto: String) {
        text = "{\"time\":\""
        text.reserveCapacity(256)
        text += TimeFormat.rfc3339(unixSeconds)
        text += "\",\"proto\":"
        JSONText.appendQuoted(proto, to: &text)
    }

    /// Adds `"name":"value"`, with `value` escaped.
    public mutating func add(_ name: String, _ value: String) {
        key(name)
        JSONText.appendQuoted(value, to: &text)
    }

    /// Adds `"name":value`.
    public mutating func add(_ name: String, _ value: Int) {
        key(name)
        text += String(value)
    }

    public mutating func add(_ name: String, _ value: Int64) {
        key(name)
        text += String(value)
    }

    public mutating func add(_ name: String, _ value: UInt64) {
        key(name)
        text += String(value)
    }

    /// Adds `"name":"<outcome word>"`.
    public mutating func add(_ name: String, _ value: AccessOutcome) {
        key(name)
        text += "\""
        text += value.rawValue
        text += "\""
    }

    /// Adds `"name":"value"` only when there is a value (optional fields such as `note` are left out, not null).
    public mutating func add(_ name: String, ifPresent value: String?) {
        if let value { add(name, value) }
    }

    /// The finished line, without a newline (the sink adds it).
    public consuming func finish() -> String {
        text += "}"
        return text
    }

    private mutating func key(_ name: String) {
        text += ",\""
        text += name
        text += "\":"
    }
}
