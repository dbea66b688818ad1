//===----------------------------------------------------------------------===//
// ImageGate: the raw file calls, each behind the fault seam (SyscallFaults). C conventions: -1 and errno.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLinuxShims

/// The calls `FileIO`, `AtomicFile` and `Socket.sendfile` make (the metadata calls are in
/// `Syscall+Metadata.swift`). Nothing else in the program calls these
/// functions of Glibc directly, so a test fault reaches every caller.
enum Syscall {
    @inline(__always)
    static func fault(_ call: SyscallFault.Call, _ fd: Int32, count: inout Int) -> Int? {
        guard let effect = SyscallFaults.take(call, fd: fd) else { return nil }
        switch effect {
        case .fail(let e):
            errno = e
            return -1
        case .limit(let n):
            count = min(count, max(n, 0))
            return nil
        case .returnZero:
            return 0
        }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
        var none = 0
        if let r = fault(.open, -1, count: &none) { return Int32(r) }
        return Glibc.open(path, flags, mode)
    }

    static func read(_ fd: Int32, _ base: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        var count = count
        if let r = fault(.read, fd, count: &count) { return r }
        return Glibc.read(fd, base, count)
    }

    static func pread(_ fd: Int32, _ base: UnsafeMutableRawPointer?, _ count: Int, _ offset: Int64) -> Int {
        var count = count
        if let r = fault(.pread, fd, count: &count) { return r }
        return Glibc.pread(fd, base, count, off_t(offset))
    }

    static func write(_ fd: Int32, _ base: UnsafeRawPointer?, _ count: Int) -> Int {
        var count = count
        if let r = fault(.write, fd, count: &count) { return r }
        return Glibc.write(fd, base, count)
    }

    static func pwrite(_ fd: Int32, _ base: UnsafeRawPointer?, _ count: Int, _ offset: Int64) -> Int {
        var count = count
        if let r = fault(.pwrite, fd, count: &count) { return r }
        return Glibc.pwrite(fd, base, count, off_t(offset))
    }

    static func fsync(_ fd: Int32) -> Int32 {
        var none = 0
        if let r = fault(.fsync, fd, count: &none) { return Int32(r) }
        return Glibc.fsync(fd)
    }

    static func rename(_ from: String, _ to: String) -> Int32 {
        var none = 0
        if let r = fault(.rename, -1, count: &none) { return Int32(r) }
        return Glibc.rename(from, to)
    }

    static func link(_ from: String, _ to: String) -> Int32 {
        var none = 0
        if let r = fault(.link, -1, count: &none) { return Int32(r) }
        return Glibc.link(from, to)
    }

    static func fadvise(_ fd: Int32, _ advice: Int32) -> Int32 {
        var none = 0
        if let r = fault(.fadvise, fd, count: &none) { return Int32(r) }
        return posix_fadvise(fd, 0, 0, advice)
    }

    static func sendfile(_ socket: Int32, _ file: Int32, _ offset: inout Int64, _ count: Int) -> Int {
        var count = count
        if let r = fault(.sendfile, socket, count: &count) { return r }
        return CLinuxShims_sendfile(socket, file, &offset, count)
    }
}
