//===----------------------------------------------------------------------===//
// ImageGate: one object read through the slice cache: extents are slice files, fetched when cold.
//===----------------------------------------------------------------------===//
import Dispatch
import GateCore
import Synchronization
import SystemIO

/// A `BlobReader` over a `SlicedObject`. It keeps each slice file it has opened until it is released (the
/// `BlobReader` contract: an extent's descriptor stays valid while the reader lives), so an eviction cannot
/// pull bytes from under a response; `isCurrent` turns false once one of them was evicted, so the open-file
/// cache drops the reader and the disk space comes back when the last response using it ends.
final class SliceReader: PreparableBlobReader {
    let object: SlicedObject
    let cache: SliceCache
    /// Open slice files by slice index.
    private let open = Mutex<[Int: Int32]>([:])
    /// A record that cannot be served from (no slice size, digests missing): every read fails with this.
    private let broken: GateError?

    init(object: SlicedObject, cache: SliceCache) {
        self.object = object
        self.cache = cache
        do throws(GateError) {
            try object.validate()
            broken = nil
        } catch {
            broken = error
        }
    }

    var size: UInt64 { object.size }

    func prepare(at offset: UInt64, then ready: @escaping @Sendable (GateError?) -> Void) -> Bool {
        if let broken {
            ready(broken)
            return false
        }
        let index = Int(offset / object.sliceBytes)
        if open.withLock({ $0[index] }) != nil { return true }
        if let fd = cache.openWarm(object, index) {
            let kept = open.withLock { files -> Bool in
                if files[index] != nil { return false }
                files[index] = fd
                return true
            }
            if !kept { Sys.close(fd) }  // another thread opened it first
            return true
        }
        cache.materialize(object, index, then: ready)
        return false
    }

    /// Blocks until the slice holding `offset` is local (FTP and SFTP threads; the HTTP writer calls
    /// `prepare` first, so for it the slice is always local here).
    func extent(at offset: UInt64, maxLength: UInt64) throws(GateError) -> BlobExtent {
        let index = Int(offset / max(object.sliceBytes, 1))
        var attempts = 0
        while true {
            if let fd = open.withLock({ $0[index] }) {
                let sliceStart = UInt64(index) * object.sliceBytes
                let within = offset - sliceStart
                let length = min(maxLength, object.slice(index).length - within)
                return BlobExtent(fd: fd, offset: within, length: length)
            }
            // Evicted again between the fetch and this open (a cap far too small for the load): a few tries.
            attempts += 1
            guard attempts <= 3 else { throw .unavailable("read cache: slice \(index) of an object was evicted before it could be read") }
            let waiter = SliceWait()
            if !prepare(at: offset, then: { waiter.finish($0) }) {
                if let error = waiter.wait() { throw error }
            }
        }
    }

    func isCurrent() -> Bool {
        let held = open.withLock { Array($0.keys) }
        return held.allSatisfy { cache.contains(SliceFiles.name(key: object.key, sliceBytes: object.sliceBytes, index: $0)) }
    }

    deinit {
        for fd in open.withLock({ Array($0.values) }) { Sys.close(fd) }
    }
}

/// One blocking wait for a `ready` callback.
private final class SliceWait: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<GateError?>(nil)

    func finish(_ error: GateError?) {
        result.withLock { $0 = error }
        done.signal()
    }

    func wait() -> GateError? {
        done.wait()
        return result.withLock { $0 }
    }
}
