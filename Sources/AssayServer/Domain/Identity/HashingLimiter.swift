import Foundation
import NIOPosix
import Synchronization

/// Password hashes (PBKDF2, about 0.3 s of CPU each) run on threads of their own, at most one per
/// core at once, never on Swift's cooperative pool, which must stay free for every other request.
/// Waiting room is bounded: past it a hash is refused with `Busy` (the web tier answers 503 with
/// Retry-After) instead of queueing without end while a flood of sign-ins piles up.
public final class HashingLimiter: Sendable {
    private let pool: NIOThreadPool
    /// Hashes running or waiting, and how many may be.
    private let admitted = Mutex(0)
    public let capacity: Int

    /// The hashing threads are busy and the waiting room is full: try again shortly.
    public struct Busy: Error, Equatable, CustomStringConvertible {
        public let retryAfter = 2
        public var description: String { "the service is busy checking passwords: try again in a few seconds" }
    }

    /// `limit` threads; up to `waiting` more hashes queue behind them.
    public init(limit: Int, waiting: Int = 64) {
        pool = NIOThreadPool(numberOfThreads: max(1, limit))
        pool.start()
        capacity = max(1, limit) + max(0, waiting)
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let capacity = self.capacity
        let entered = admitted.withLock { count in
            guard count < capacity else { return false }
            count += 1
            return true
        }
        guard entered else { throw Busy() }
        defer { admitted.withLock { $0 -= 1 } }
        return try await pool.runIfActive(work)
    }
}
