//===----------------------------------------------------------------------===//
// ImageGate: the raw metadata calls (stat, mkdir, chmod, unlink, ftruncate, lseek, opendir, access), each
// behind the fault seam like the data calls in Syscall.swift. C conventions: -1 (or nil) and errno.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

extension Syscall {
    /// A fault for a call without a byte count: the errno it fails with, or nil to make the real call.
    @inline(__always)
    private static func failure(_ call: SyscallFault.Call, _ fd: Int32 = -1) -> Int32? {
        var none = 0
        return fault(call, fd, count: &none).map { Int32($0) }
    }

    /// `stat(2)` (named apart from the struct, which `Glibc.stat` would mean here).
    static func statPath(_ path: String, _ st: inout stat) -> Int32 {
        failure(.stat) ?? stat(path, &st)
    }

    static func lstat(_ path: String, _ st: inout stat) -> Int32 {
        failure(.stat) ?? Glibc.lstat(path, &st)
    }

    static func fstat(_ fd: Int32, _ st: inout stat) -> Int32 {
        failure(.stat, fd) ?? Glibc.fstat(fd, &st)
    }

    static func mkdir(_ path: String, _ mode: mode_t) -> Int32 {
        failure(.mkdir) ?? Glibc.mkdir(path, mode)
    }

    static func chmod(_ path: String, _ mode: mode_t) -> Int32 {
        failure(.chmod) ?? Glibc.chmod(path, mode)
    }

    static func fchmod(_ fd: Int32, _ mode: mode_t) -> Int32 {
        failure(.chmod, fd) ?? Glibc.fchmod(fd, mode)
    }

    static func unlink(_ path: String) -> Int32 {
        failure(.unlink) ?? Glibc.unlink(path)
    }

    static func ftruncate(_ fd: Int32, _ length: Int64) -> Int32 {
        failure(.ftruncate, fd) ?? Glibc.ftruncate(fd, off_t(length))
    }

    static func lseek(_ fd: Int32, _ offset: Int64, _ whence: Int32) -> Int64 {
        if let r = failure(.lseek, fd) { return Int64(r) }
        return Int64(Glibc.lseek(fd, off_t(offset), whence))
    }

    static func opendir(_ path: String) -> OpaquePointer? {
        if failure(.opendir) != nil { return nil }
        return Glibc.opendir(path)
    }

    static func access(_ path: String, _ mode: Int32) -> Int32 {
        failure(.access) ?? Glibc.access(path, mode)
    }

    static func futimens(_ fd: Int32, _ times: UnsafePointer<timespec>) -> Int32 {
        Glibc.futimens(fd, times)
    }
}
