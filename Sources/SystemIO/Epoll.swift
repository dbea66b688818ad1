//===----------------------------------------------------------------------===//
// ImageGate: epoll and eventfd, the readiness primitives of the event loops.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLinuxShims

/// Interest and readiness bits.
public struct EpollEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = EpollEvents(rawValue: CLinuxShims_EPOLLIN)
    public static let writable = EpollEvents(rawValue: CLinuxShims_EPOLLOUT)
    public static let error = EpollEvents(rawValue: CLinuxShims_EPOLLERR)
    public static let hangup = EpollEvents(rawValue: CLinuxShims_EPOLLHUP)
    public static let readHangup = EpollEvents(rawValue: CLinuxShims_EPOLLRDHUP)
    /// Wake only one of the loops sharing a listening socket (no thundering herd).
    public static let exclusive = EpollEvents(rawValue: CLinuxShims_EPOLLEXCLUSIVE)
}

/// One epoll instance, owned by one event-loop thread.
public final class Epoll {
    public let fd: Int32
    private var events = [UInt32](repeating: 0, count: 256)
    private var datas = [UInt64](repeating: 0, count: 256)

    public init() throws(SystemError) {
        fd = try Sys.blocking("epoll_create1") { CLinuxShims_epoll_create() }
    }

    public func add(_ target: Int32, _ interest: EpollEvents, data: UInt64) throws(SystemError) {
        _ = try Sys.blocking("epoll_ctl(ADD)") {
            CLinuxShims_epoll_ctl(fd, CLinuxShims_EPOLL_CTL_ADD, target, interest.rawValue, data)
        }
    }

    public func modify(_ target: Int32, _ interest: EpollEvents, data: UInt64) throws(SystemError) {
        _ = try Sys.blocking("epoll_ctl(MOD)") {
            CLinuxShims_epoll_ctl(fd, CLinuxShims_EPOLL_CTL_MOD, target, interest.rawValue, data)
        }
    }

    public func remove(_ target: Int32) {
        _ = CLinuxShims_epoll_ctl(fd, CLinuxShims_EPOLL_CTL_DEL, target, 0, 0)
    }

    /// Waits up to `timeoutMs` (-1 forever) and calls `body` per ready descriptor.
    public func wait(timeoutMs: Int32, _ body: (UInt64, EpollEvents) -> Void) {
        let n = events.withUnsafeMutableBufferPointer { ev in
            datas.withUnsafeMutableBufferPointer { da in
                CLinuxShims_epoll_wait(fd, ev.baseAddress, da.baseAddress, Int32(ev.count), timeoutMs)
            }
        }
        guard n > 0 else { return }
        for i in 0..<Int(n) { body(datas[i], EpollEvents(rawValue: events[i])) }
    }

    deinit { Sys.close(fd) }
}

@available(*, unavailable)
extension Epoll: Sendable {}

/// An eventfd used to wake a loop from another thread (stop requests).
public struct EventFD: Sendable {
    public let fd: Int32
    public init() throws(SystemError) {
        fd = try Sys.blocking("eventfd") { CLinuxShims_eventfd() }
    }
    public func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) }
    }
    public func drain() {
        var v: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &v) { Glibc.read(fd, $0.baseAddress, 8) }
    }
    public func close() { Sys.close(fd) }
}
