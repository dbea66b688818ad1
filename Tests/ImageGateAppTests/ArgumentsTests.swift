//===----------------------------------------------------------------------===//
// ImageGate: command-line parsing.
//===----------------------------------------------------------------------===//
import GateCore
@testable import ImageGateApp
import Testing

@Suite struct ArgumentsTests {
    @Test func parsesOptionsFlagsAndPositionals() throws {
        let a = try Arguments(
            ["img-1", "--ttl", "2h", "--json", "--data-dir=/tmp/d"], valueOptions: ["--ttl"], flagOptions: ["--json"])
        #expect(a.positionals == ["img-1"])
        #expect(a.value("--ttl") == "2h")
        #expect(a.value("--data-dir") == "/tmp/d")
        #expect(a.json)
    }

    @Test(
        "typos and missing values are usage errors",
        arguments: [
            ["--tll", "2h"], ["--ttl"], ["--json=yes"],
        ])
    func refuses(args: [String]) {
        #expect(throws: GateError.self) {
            _ = try Arguments(args[...], valueOptions: ["--ttl"], flagOptions: ["--json"])
        }
    }

    @Test func doubleDashEndsOptions() throws {
        let a = try Arguments(["--", "--json"], valueOptions: [], flagOptions: ["--json"])
        #expect(a.positionals == ["--json"] && !a.json)
    }

    @Test("exit codes tell usage, not-found and refusals apart")
    func exitCodes() {
        #expect(ExitCode.of(.usage("x")) == 64)
        #expect(ExitCode.of(.notFound("x")) == 3)
        #expect(ExitCode.of(.conflict("x")) == 4)
        #expect(ExitCode.of(.io("x")) == 1)
    }
}
