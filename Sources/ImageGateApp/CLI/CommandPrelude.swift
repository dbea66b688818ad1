//===----------------------------------------------------------------------===//
// ImageGate: how every CLI command starts: parse, --help, extra arguments, the data directory. One place,
// so commands cannot drift apart again (one answered --help differently, one ignored extra arguments).
//===----------------------------------------------------------------------===//
import GateCore

enum CommandPrelude {
    /// Parses a command's arguments (an unknown option is a usage error), prints `help` and returns nil for
    /// --help, and refuses more than `maxPositionals` positional arguments (nil: the command takes a variable
    /// number and checks them itself).
    static func parse(
        _ raw: ArraySlice<String>, valueOptions: Set<String> = [], flagOptions: Set<String> = [],
        maxPositionals: Int?, help: @autoclosure () -> String
    ) throws(GateError) -> Arguments? {
        let args = try Arguments(raw, valueOptions: valueOptions, flagOptions: flagOptions)
        if args.wantsHelp {
            print(help())
            return nil
        }
        if let maxPositionals { try args.noMorePositionals(than: maxPositionals) }
        return args
    }

    /// Runs `body` on the data directory the arguments name (settings from defaults, the config file, then
    /// --data-dir), closing it afterwards.
    static func withDataDirectory<T>(
        _ args: Arguments, _ body: (DataDirectory) throws(GateError) -> T
    ) throws(GateError) -> T {
        let data = try DataDirectory.open(try loadSettings(args))
        defer { data.close() }
        return try body(data)
    }
}
