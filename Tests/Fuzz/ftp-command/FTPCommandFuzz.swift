//===----------------------------------------------------------------------===//
// ImageGate fuzz target: FTP command lines and the path arguments they carry (Docs/testing.md).
//===----------------------------------------------------------------------===//
import FTPServer

/// Splits the input into lines at LF (as the control connection does after stripping CR), parses each as a
/// command, and resolves its argument as a path against the one served file, with and without list options.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFTPCommand(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeBufferPointer(start: data, count: size)
    for line in input.split(separator: 0x0A, omittingEmptySubsequences: false) {
        var raw = line[...]
        if raw.last == 0x0D { raw = raw.dropLast() }
        guard let command = FTPCommand.parse(raw) else { continue }
        precondition(!command.verb.isEmpty && command.verb.utf8.count <= 8)
        precondition(command.verb == command.verb.uppercased())
        let logged = command.loggable
        if command.verb == "PASS" {
            precondition(logged == "PASS <\(command.argument.utf8.count) bytes redacted>", "PASS argument logged")
        }
        _ = FTPView.resolve(command.argument, name: "disk.qcow2")
        _ = FTPView.resolve(FTPView.stripListOptions(command.argument), name: "disk.qcow2", allowParent: true)
    }
    return 0
}
