import Foundation

/// Threads for the ingest workers' CPU-heavy half (RSA, AES, inflate, JSON) at a lower priority
/// than the rest of the process, so that acknowledging uploads — the promise clients wait for —
/// keeps the processor when both compete. On Linux the nice value belongs to the thread.
final class BackgroundCPU: @unchecked Sendable {
    static let shared = BackgroundCPU(threads: max(1, ProcessInfo.processInfo.activeProcessorCount), niceness: 10)

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    init(threads: Int, niceness: Int32) {
        for index in 0..<threads {
            let thread = Thread { [self] in
                #if os(Linux)
                    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                #endif
                while true { next()() }
            }
            thread.name = "ingest-cpu-\(index)"
            thread.start()
        }
    }

    private func next() -> @Sendable () -> Void {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty { condition.wait() }
        return jobs.removeFirst()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(with: Result { try body() }) }
            condition.signal()
            condition.unlock()
        }
    }
}
