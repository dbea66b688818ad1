//===----------------------------------------------------------------------===//
// ImageGate: one response on its way out: head bytes, then body pieces through the transport.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import GateCore
import SystemIO

/// How far a write got in one turn.
enum WriteProgress {
    case finished
    /// Wait until the socket is ready for `needs` (writable, or readable for a TLS record).
    case blocked(needs: EpollEvents)
    /// Turn budget used up: others first, then continue.
    case yielded
    /// Peer gone (`client_abort`), file truncated (`truncated`), or another write error.
    case failed(AccessOutcome)
    /// The next file bytes are not local yet (a cold slice of an object-store blob): they are being fetched on
    /// another thread, and the `ready` callback given to `advance` fires once when they are (or failed).
    case parked
}

/// The serialized head plus the body pieces still to send. For HEAD the pieces are dropped
/// (Content-Length still describes them).
struct WriteJob {
    var head: [UInt8]
    var headSent = 0
    var pieces: [BodyPiece]
    var file: (any BlobReader)?
    /// `file` when its bytes may have to be fetched first (cast once here, not per piece).
    let preparable: (any PreparableBlobReader)?
    /// The request's version: a replacement answer (503 when the store fails before the head) is written in it.
    let version: HTTPVersion
    /// The bytes of the first file piece were local once, so the head may go out (Docs/object-storage.md: a
    /// store failure before the head is a clean 503, after it a cut connection).
    var headCleared = false
    var pieceIndex = 0
    var pieceSent: UInt64 = 0
    var bodySent: UInt64 = 0

    init(head: [UInt8], pieces: [BodyPiece], file: (any BlobReader)?, version: HTTPVersion = .http11) {
        self.head = head
        self.pieces = pieces
        self.file = file
        self.preparable = file as? any PreparableBlobReader
        self.version = version
    }

    /// Sends until done, the socket would block, `budget` bytes went out this turn, or the next file bytes must
    /// be fetched first (`parked`: `ready()` makes the callback the reader calls when they are local).
    mutating func advance(
        _ transport: any Transport, budget: Int, ready: () -> @Sendable (GateError?) -> Void
    ) -> WriteProgress {
        var spent = 0
        // The file offset found local this turn: the first body piece does not ask the reader again.
        var localAt: UInt64?
        if !headCleared, let preparable {
            // The head promises a status and a length: send it only once the first bytes are here.
            if let first = pieces.first(where: { if case .file = $0 { true } else { false } }),
                case .file(let offset, _) = first
            {
                if !preparable.prepare(at: offset, then: ready()) { return .parked }
                localAt = offset
            }
            headCleared = true
        }
        while headSent < head.count {
            let body = bodyLeft
            let r = head.withUnsafeBytes { buf in
                transport.send(UnsafeRawBufferPointer(rebasing: buf[headSent...]), followedBy: body)
            }
            switch r {
            case .done(let n): headSent += n
            case .wouldBlock(let needs): return .blocked(needs: needs)
            case .endOfInput: return .failed(.clientAbort)
            case .failed(let e, _): return .failed(Self.outcome(e))
            }
        }
        while pieceIndex < pieces.count {
            if spent >= budget { return .yielded }
            let r: TransportResult
            switch pieces[pieceIndex] {
            case .bytes(let bytes):
                let after = bodyLeft - (UInt64(bytes.count) - pieceSent)
                r = bytes.withUnsafeBytes { buf in
                    transport.send(UnsafeRawBufferPointer(rebasing: buf[Int(pieceSent)...]), followedBy: after)
                }
            case .file(let offset, let length):
                guard let file else { return .failed(.internal) }
                // Stay below 2 GiB per call (nginx NGX_SENDFILE_MAXSIZE) and within this turn's budget.
                let want = min(length - pieceSent, UInt64(budget - spent), 1 << 30)
                // Never block the loop on a cold slice: park until the cache has it.
                if let preparable {
                    if localAt != offset + pieceSent, !preparable.prepare(at: offset + pieceSent, then: ready()) {
                        return .parked
                    }
                    preparable.readAhead(at: offset + pieceSent, end: offset + length)
                }
                // The store says where these bytes are: the blob itself, or a cached slice of it.
                guard let extent = try? file.extent(at: offset + pieceSent, maxLength: want), extent.length > 0 else {
                    return .failed(.truncated)
                }
                r = withExtendedLifetime(extent) {
                    transport.sendFile(extent.fd, offset: extent.offset, count: Int(extent.length))
                }
                // The file shrank under us: the headers promised bytes that no longer exist.
                if case .done(0) = r { return .failed(.truncated) }
            }
            switch r {
            case .done(let n):
                pieceSent += UInt64(n)
                bodySent += UInt64(n)
                spent += n
                if pieceSent == pieces[pieceIndex].length {
                    pieceIndex += 1
                    pieceSent = 0
                }
            case .wouldBlock(let needs): return .blocked(needs: needs)
            case .endOfInput: return .failed(.clientAbort)
            case .failed(let e, _): return .failed(Self.outcome(e))
            }
        }
        return .finished
    }

    /// Body bytes not yet sent (what follows the head, or the current piece's unsent bytes and the rest).
    private var bodyLeft: UInt64 {
        var n: UInt64 = 0
        for i in pieceIndex..<pieces.count { n += pieces[i].length }
        return n - pieceSent
    }

    /// EPIPE / ECONNRESET: the client went away mid-response, which is normal (aria2 closes at segment ends).
    private static func outcome(_ errno: Int32) -> AccessOutcome {
        errno == EPIPE || errno == ECONNRESET ? .clientAbort : .writeError
    }
}
