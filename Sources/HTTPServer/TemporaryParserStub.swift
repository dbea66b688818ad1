// Temporary: the real parser lands from its own branch. Deleted before merge.
public enum HTTPVersion: Sendable, Equatable { case http10, http11 }
public struct RequestHead: Sendable {
    public var method: String
    public var target: String
    public var path: String
    public var query: String?
    public var version: HTTPVersion
    public var headers: [(name: String, value: String)]
    public func header(_ lowercasedName: String) -> String? { nil }
    public func headers(_ lowercasedName: String) -> [String] { [] }
    public var keepAlive: Bool
    public var contentLength: UInt64
    public var expectsContinue: Bool
}
public struct ParseLimits: Sendable {
    public var maxRequestLine = 8192, maxHeaderBytes = 32768, maxHeaderCount = 100
    public init() {}
}
public struct HTTPParseError: Error, Sendable, Equatable {
    public var status: Int
    public var reason: String
}
public enum ParseResult: Sendable { case needMore; case head(RequestHead, consumed: Int); case failure(HTTPParseError) }
public struct RequestParser: Sendable {
    public init(limits: ParseLimits = ParseLimits()) {}
    public func parse(_ buffer: UnsafeRawBufferPointer) -> ParseResult { .needMore }
}
