//===----------------------------------------------------------------------===//
// ImageGate: the CSV export's formula guard looks at Unicode scalars, not characters (issue #11 item 19).
//===----------------------------------------------------------------------===//
@testable import ImageGateApp
import Testing

@Suite struct CSVFormulaGuardTests {
    @Test(arguments: [
        "=1+1", "=\u{0301}HYPERLINK(\"http://x\")", "+\u{20DD}1", "-\u{0338}2", "@\u{0300}SUM(A1)", "  =1+1",
        "\u{00A0}=cmd", "\u{3000}@x", "\t=1", "\r=1", "\u{FF1D}1+1", "\u{FF20}SUM(A1)",
    ])
    func formulaStartsAreGuarded(_ cell: String) {
        #expect(ImageExporter.formulaLike(cell))
    }

    @Test(arguments: ["CentOS 7.9", "é=1", "a-b", "", "   ", "1+1", "'=already quoted"])
    func ordinaryTextIsLeftAlone(_ cell: String) {
        #expect(!ImageExporter.formulaLike(cell))
    }
}
