//===----------------------------------------------------------------------===//
// ImageGate: the connect-time address check every outgoing libcurl socket passes (imports and webhooks).
//===----------------------------------------------------------------------===//

import CCurl

/// CURLOPT_OPENSOCKETFUNCTION's rule (Docs/protocols.md §4.1): an outgoing TCP connection only, only to an
/// address validated for the host (`PinnedHost`), and only one `DestinationCheck` allows.
enum SocketCheck {
    /// The opened socket, or `CURL_SOCKET_BAD` with the reason in `refused`.
    static func open(
        purpose: curlsocktype, address: UnsafeMutablePointer<curl_sockaddr>, pinned: PinnedHost?, host: String,
        policy: FetchPolicy, refused: inout String?
    ) -> curl_socket_t {
        var raw = [UInt8](repeating: 0, count: 16)
        var port: UInt16 = 0
        let length = Int(CCurl_sockaddr_ip(address, &raw, &port))
        // CURLSOCKTYPE_ACCEPT would be active FTP, which is never used.
        guard purpose == CURLSOCKTYPE_IPCXN, length == 4 || length == 16 else {
            refused = "a non-IP or listening socket"
            return CCurl_socket_bad()
        }
        let bytes = Array(raw[0..<length])
        if let pinned, !pinned.contains(bytes) {
            refused = "\(IPAddressText.format(bytes)) is not an address validated for \(host)"
            return CCurl_socket_bad()
        }
        if let why = DestinationCheck.refusal(for: bytes, policy: policy) {
            refused = why
            return CCurl_socket_bad()
        }
        return CCurl_open_socket(address)
    }
}
