//===----------------------------------------------------------------------===//
// ImageGate: a second thread for an import's checks and writes, so receiving overlaps hashing and writing.
//===----------------------------------------------------------------------===//
import Dispatch
import GateCore
import Synchronization
import SystemIO

/// Bytes arrive on the fetch thread (libcurl's callbacks); SHA-256, inspection and the file write run on a
/// worker thread, fed through a bounded queue of 1 MiB batches. The order of bytes is kept; memory stays
/// bounded (`depth` batches); a failure on the worker stops the fetch at its next callback.
final class PipelinedSink: @unchecked Sendable {
    // @unchecked: `sink` is used only by the worker thread until `finish` joins it; the queue and the failure
    // are behind `state`; the current batch is touched only by the producer thread.
    private let sink: ImportSink
    private let batchSize = 1 << 20
    private var batch: [UInt8] = []
    private struct State {
        var queue: [[UInt8]] = []
        var closed = false
        var failure: ImportFailure?
    }
    private let state = Mutex(State())
    private let items = DispatchSemaphore(value: 0)
    private let space: DispatchSemaphore
    private var worker: OSThread?

    init(_ sink: ImportSink, depth: Int = 16) {
        self.sink = sink
        self.space = DispatchSemaphore(value: depth)
        batch.reserveCapacity(batchSize)
        worker = OSThread.spawn(name: "import-write") { [self] in drain() }
    }

    private func drain() {
        while true {
            items.wait()
            let next: [UInt8]? = state.withLock { s in s.queue.isEmpty ? nil : s.queue.removeFirst() }
            guard let chunk = next else { return }  // closed and empty
            space.signal()
            if state.withLock({ $0.failure != nil }) { continue }
            if let f = chunk.withUnsafeBytes({ sink.write($0) }) { state.withLock { $0.failure = f } }
        }
    }

    private func enqueue(_ chunk: [UInt8]) {
        space.wait()
        state.withLock { $0.queue.append(chunk) }
        items.signal()
    }

    /// Producer side: false once the worker has failed (the fetch then stops).
    func write(_ buffer: UnsafeRawBufferPointer) -> Bool {
        if state.withLock({ $0.failure != nil }) { return false }
        batch.append(contentsOf: buffer)
        if batch.count >= batchSize {
            enqueue(batch)
            batch = []
            batch.reserveCapacity(batchSize)
        }
        return true
    }

    var failure: ImportFailure? { state.withLock { $0.failure } }

    /// Flushes, stops the worker and hands the sink back (all bytes written, or the first failure).
    func close() -> (ImportSink, ImportFailure?) {
        if !batch.isEmpty { enqueue(batch) }
        batch = []
        state.withLock { $0.closed = true }
        items.signal()  // wakes the worker for the empty-queue exit
        worker?.join()
        worker = nil
        return (sink, state.withLock { $0.failure })
    }
}
