//===----------------------------------------------------------------------===//
// ImageGate: the test seam of the syscall layer: make a chosen call fail with EINTR or any errno, come back
// short, or return 0 (a `sendfile` past a truncated end), without touching the program that makes the call.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One fault a test asks for: which call, what happens to it, and which calls it may hit.
///
/// Faults are process-wide but can only hit calls the installing test owns (`Scope`), so tests that run in
/// parallel in one process never see each other's faults. With no fault installed every wrapper in `Syscall`
/// pays one atomic load (Docs/testing.md, "Injecting syscall faults").
public struct SyscallFault: Sendable {
    public enum Call: Sendable, Equatable {
        case open, read, pread, write, pwrite, fsync, rename, link, sendfile, fadvise
        /// The metadata calls (`Syscall+Metadata.swift`): `stat` covers `stat`, `lstat` and `fstat`.
        case stat, mkdir, chmod, unlink, ftruncate, lseek, opendir, access
    }

    public enum Effect: Sendable, Equatable {
        /// The call does nothing and fails with this errno (`EINTR`, `EIO`, `ENOSPC`, …).
        case fail(errno: Int32)
        /// A read, write or `sendfile` moves at most this many bytes (a short write).
        case limit(Int)
        /// The call returns 0 without doing anything (`sendfile` or `read` at an end of file).
        case returnZero
    }

    public enum Scope: Sendable, Equatable {
        /// Calls made by the thread that installed the fault (a synchronous test body).
        case installingThread
        /// Calls on this descriptor, from any thread (a socket served by an event loop). Only while the test
        /// keeps the descriptor open: the number is then unique in the process.
        case descriptor(Int32)
    }

    public var call: Call
    public var effect: Effect
    public var scope: Scope
    /// Matching calls that go through untouched before the fault starts to hit.
    public var skip: Int
    /// How many matching calls the fault hits; then it is spent.
    public var times: Int

    public init(_ call: Call, _ effect: Effect, scope: Scope = .installingThread, skip: Int = 0, times: Int = 1) {
        self.call = call
        self.effect = effect
        self.scope = scope
        self.skip = skip
        self.times = times
    }
}

/// The installed faults. Tests use `SyscallFaults.inject`; the wrappers in `Syscall` ask `take`.
public enum SyscallFaults {
    private struct Installed {
        var fault: SyscallFault
        var thread: pthread_t
        var token: UInt64
        var hits = 0
    }

    private struct State {
        var installed: [Installed] = []
        var nextToken: UInt64 = 0
    }

    /// True while any fault is installed: the only cost of the seam on the normal path.
    private static let armed = Atomic<Bool>(false)
    private static let state = Mutex(State())

    /// Runs `body` with `faults` installed and removes them afterwards. Returns what `body` returns and how many
    /// times each fault hit, in order, so a test can prove its fault was reached.
    public static func inject<T, E: Error>(_ faults: [SyscallFault], _ body: () throws(E) -> T) throws(E)
        -> (result: T, hits: [Int])
    {
        let me = pthread_self()
        let token = state.withLock { s in
            let t = s.nextToken
            s.nextToken += 1
            for f in faults { s.installed.append(Installed(fault: f, thread: me, token: t)) }
            armed.store(true, ordering: .releasing)
            return t
        }
        func remove() -> [Int] {
            state.withLock { s in
                let hits = s.installed.filter { $0.token == token }.map { $0.hits }
                s.installed.removeAll { $0.token == token }
                if s.installed.isEmpty { armed.store(false, ordering: .releasing) }
                return hits
            }
        }
        let result: T
        do {
            result = try body()
        } catch {
            _ = remove()
            throw error
        }
        return (result, remove())
    }

    /// The effect to apply to this call, if a fault hits it (consuming one of its `times`).
    @inline(__always)
    static func take(_ call: SyscallFault.Call, fd: Int32) -> SyscallFault.Effect? {
        guard armed.load(ordering: .acquiring) else { return nil }
        return takeInstalled(call, fd: fd)
    }

    @inline(never)
    private static func takeInstalled(_ call: SyscallFault.Call, fd: Int32) -> SyscallFault.Effect? {
        let me = pthread_self()
        return state.withLock { s -> SyscallFault.Effect? in
            for i in s.installed.indices {
                let f = s.installed[i].fault
                guard f.call == call else { continue }
                switch f.scope {
                case .installingThread: guard pthread_equal(s.installed[i].thread, me) != 0 else { continue }
                case .descriptor(let d): guard d == fd else { continue }
                }
                if s.installed[i].fault.skip > 0 {
                    s.installed[i].fault.skip -= 1
                    return nil
                }
                guard s.installed[i].hits < f.times else { continue }
                s.installed[i].hits += 1
                return f.effect
            }
            return nil
        }
    }
}
