//===----------------------------------------------------------------------===//
// ImageGate: trimming user text without Foundation.
//===----------------------------------------------------------------------===//

extension String {
    /// The string without Unicode white space (newlines included) at either end.
    public func trimmingUnicodeWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
