//===----------------------------------------------------------------------===//
// ImageGate: one response on its way out: head bytes, then body pieces via send or sendfile.
//===----------------------------------------------------------------------===//
import SystemIO

/// How far a write got in one turn.
enum WriteProgress {
    case finished
    case blocked          // socket buffer full: wait for EPOLLOUT
    case yielded          // turn budget used up: others first, then continue
    case failed(String)   // peer gone (`client_abort`) or file truncated (`truncated`)
}

/// The serialized head plus the body pieces still to send. For HEAD the pieces are dropped
/// (Content-Length still describes them).
struct WriteJob {
    var head: [UInt8]
    var headSent = 0
    var pieces: [BodyPiece]
    var file: OpenFile?
    var pieceIndex = 0
    var pieceSent: UInt64 = 0
    var bodySent: UInt64 = 0

    /// Sends until done, the socket would block, or `budget` bytes went out this turn.
    mutating func advance(fd: Int32, budget: Int) -> WriteProgress {
        var spent = 0
        do {
            while headSent < head.count {
                let more = pieceIndex < pieces.count
                let r = try head.withUnsafeBytes { buf in
                    try Socket.send(fd, UnsafeRawBufferPointer(rebasing: buf[headSent...]), more: more)
                }
                guard case .processed(let n) = r else { return .blocked }
                headSent += n
            }
            while pieceIndex < pieces.count {
                if spent >= budget { return .yielded }
                switch pieces[pieceIndex] {
                case .bytes(let bytes):
                    let r = try bytes.withUnsafeBytes { buf in
                        try Socket.send(
                            fd, UnsafeRawBufferPointer(rebasing: buf[Int(pieceSent)...]),
                            more: pieceIndex + 1 < pieces.count)
                    }
                    guard case .processed(let n) = r else { return .blocked }
                    pieceSent += UInt64(n)
                    bodySent += UInt64(n)
                    spent += n
                    if pieceSent == UInt64(bytes.count) { nextPiece() }
                case .file(let offset, let length):
                    guard let file else { return .failed("internal") }
                    let remaining = length - pieceSent
                    // Stay below 2 GiB per call (nginx NGX_SENDFILE_MAXSIZE) and within this turn's budget.
                    let count = Int(min(remaining, UInt64(budget - spent), 1 << 30))
                    var off = Int64(offset + pieceSent)
                    let r = try Socket.sendfile(fd, file: file.fd, offset: &off, count: count)
                    guard case .processed(let n) = r else { return .blocked }
                    if n == 0 {
                        // The file shrank under us: the headers promised bytes that no longer exist.
                        return .failed("truncated")
                    }
                    pieceSent += UInt64(n)
                    bodySent += UInt64(n)
                    spent += n
                    if pieceSent == length { nextPiece() }
                }
            }
            return .finished
        } catch {
            // EPIPE / ECONNRESET: the client went away mid-response, which is normal (aria2 closes at
            // segment ends). Anything else is equally final for this connection.
            let e = (error as? SystemError)?.errno ?? 0
            return .failed(e == EPIPE || e == ECONNRESET ? "client_abort" : "write_error")
        }
    }

    private mutating func nextPiece() {
        pieceIndex += 1
        pieceSent = 0
    }
}

#if canImport(Glibc)
import Glibc
#endif
