//===----------------------------------------------------------------------===//
// ImageGate: the current TLS context of a listener, replaceable at run time (SIGHUP reload).
//===----------------------------------------------------------------------===//
import Synchronization

/// Holds the context new connections use. Connections keep the context they started with (their
/// `TLSSession` retains it), so a reload never disturbs a transfer in flight.
public final class TLSContextHolder: Sendable {
    private let context: Mutex<TLSContext>

    public init(_ context: TLSContext) { self.context = Mutex(context) }

    public var current: TLSContext { context.withLock { $0 } }

    public func replace(with new: TLSContext) { context.withLock { $0 = new } }
}
