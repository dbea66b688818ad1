//===----------------------------------------------------------------------===//
// ImageGate: idle libcurl easy handles kept for reuse, so requests reuse the store's connections.
//===----------------------------------------------------------------------===//
import CCurl
import Synchronization

let s3CurlGlobalInit: Bool = CCurl_global_init() == CURLE_OK

/// A libcurl easy handle. `@unchecked Sendable`: a handle is used by one thread at a time, the one the pool
/// lent it to, and goes back to the pool only when that thread's request is over.
struct CurlHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// Keeps up to `capacity` idle handles. A handle keeps its connection cache across `curl_easy_reset`
/// (curl docs: reset "does not change … live connections"), so a request on a reused handle usually skips
/// the TCP (and TLS) handshake with the store.
final class CurlHandlePool: Sendable {
    private let idle = Mutex<[CurlHandle]>([])
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// A reset idle handle or a new one; nil only when libcurl cannot allocate one.
    func take() -> CurlHandle? {
        _ = s3CurlGlobalInit
        if let h = idle.withLock({ $0.popLast() }) {
            curl_easy_reset(h.raw)
            return h
        }
        return curl_easy_init().map(CurlHandle.init)
    }

    func give(_ handle: CurlHandle) {
        let kept = idle.withLock { handles -> Bool in
            guard handles.count < capacity else { return false }
            handles.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle.raw) }
    }

    deinit {
        idle.withLock { handles in
            handles.forEach { curl_easy_cleanup($0.raw) }
            handles.removeAll()
        }
    }
}
