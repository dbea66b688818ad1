//===----------------------------------------------------------------------===//
// ImageGate: the process's inputs as every layer reads them: environment variables, small text files, and
// paths made absolute for messages. They sit with the settings, the lowest layer that needs them.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Absolute form of a path, for start-up messages.
func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buf = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buf, buf.count) != nil else { return path }
    let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let rel = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    return rel == "." ? cwd : cwd + "/" + rel
}

func environment(_ name: String) -> String? {
    guard let v = getenv(name) else { return nil }
    return String(cString: v)
}

func readTextFile(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return String(data: data, encoding: .utf8)
}
