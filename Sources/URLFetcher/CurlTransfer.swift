//===----------------------------------------------------------------------===//
// ImageGate: one libcurl request — one hop, one attempt — with every Docs/protocols.md §4.1 option set.
//===----------------------------------------------------------------------===//

import CCurl

/// How one attempt at one hop ended.
enum AttemptOutcome {
    case completed
    case redirect(String)
    /// `transient`: the connection dropped or stalled; resuming may succeed.
    case failed(FetchFailure, transient: Bool)
}

struct AttemptReport {
    let outcome: AttemptOutcome
    let delivered: UInt64
    /// A response was accepted (bytes could flow): the source exists and answered.
    let accepted: Bool
    let total: UInt64?
    let validator: String?
}

/// Runs one request on the calling thread. The easy handle never leaves this function.
enum CurlTransfer {
    struct Request {
        let target: FetchTarget
        let policy: FetchPolicy
        let pinned: PinnedHost?
        let offset: UInt64
        let validator: String?
        let total: UInt64?
        /// Remaining wall-clock budget, if the policy has one.
        let timeoutMilliseconds: Int?
    }

    static func perform(
        _ request: Request, sink: @escaping (UnsafeRawBufferPointer) -> Bool,
        progress: @escaping (UInt64, UInt64?) -> Void, isCancelled: @escaping () -> Bool
    ) -> AttemptReport {
        _ = curlGlobalInit
        guard let easy = curl_easy_init() else {
            let f = FetchFailure(code: "transfer_failed", message: "cannot create a libcurl handle")
            return AttemptReport(
                outcome: .failed(f, transient: false), delivered: 0, accepted: false, total: nil,
                validator: nil)
        }
        defer { curl_easy_cleanup(easy) }
        let context = TransferContext(
            easy: easy, target: request.target, policy: request.policy, pinned: request.pinned,
            offset: request.offset, expectedValidator: request.validator, expectedTotal: request.total,
            sink: sink, progress: progress, isCancelled: isCancelled)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CCurl_error_size()) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CCurl_error_size()) + 1)
        defer { errorBuffer.deallocate() }
        var lists = CurlStringLists()
        defer { lists.free() }

        let userdata = Unmanaged.passUnretained(context).toOpaque()
        let setupError = withExtendedLifetime(context) {
            configure(easy, request, userdata: userdata, errorBuffer: errorBuffer, lists: &lists)
        }
        if let setupError {
            return AttemptReport(
                outcome: .failed(setupError, transient: false), delivered: 0, accepted: false,
                total: nil, validator: nil)
        }
        let rc = withExtendedLifetime(context) { curl_easy_perform(easy) }
        if rc == CURLE_OK, context.isFTP, context.stop == nil { context.judgeFTP() }
        let outcome = classify(rc, context: context, errorText: String(cString: errorBuffer))
        return AttemptReport(
            outcome: outcome, delivered: context.delivered, accepted: context.accepted, total: context.total,
            validator: context.validator)
    }

    private static func classify(_ rc: CURLcode, context: TransferContext, errorText: String) -> AttemptOutcome {
        switch context.stop {
        case .sinkStopped?: return .failed(.aborted, transient: false)
        case .cancelled?: return .failed(.cancelled, transient: false)
        case .failure(let f)?: return .failed(f, transient: false)
        case .redirect(let location)?: return .redirect(location)
        case .alreadyComplete?: return .completed
        case nil: break
        }
        if rc == CURLE_OK {
            let end = context.offset + context.delivered
            if let total = context.total, end < total {
                let f = FetchFailure(code: "transfer_failed", message: "the source sent \(end) of \(total) bytes")
                return .failed(f, transient: true)
            }
            return .completed
        }
        if let refused = context.refusedAddress {
            return .failed(.refused("at connect time: \(refused) (\(context.target.redacted))"), transient: false)
        }
        let detail = errorText.isEmpty ? String(cString: curl_easy_strerror(rc)) : errorText
        let message = URLRedaction.scrub(detail, secrets: context.target.secrets) + " (\(context.target.redacted))"
        return CurlErrors.map(rc, message: message)
    }
}

/// curl_slist values that must live until curl_easy_cleanup.
struct CurlStringLists {
    private var lists: [UnsafeMutablePointer<curl_slist>] = []

    mutating func make(_ strings: [String]) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for s in strings { list = curl_slist_append(list, s) }
        if let list { lists.append(list) }
        return list
    }

    func free() { lists.forEach { curl_slist_free_all($0) } }
}
