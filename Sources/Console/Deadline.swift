/// Runs `body`, or answers with `expired()` once `deadline` has passed; the loser is cancelled.
/// The one way the console bounds a remote run or a call to the service as a whole.
func withDeadline<T: Sendable>(
    _ deadline: Duration, _ body: @escaping @Sendable () async throws -> T, expired: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask(operation: body)
        group.addTask {
            try await Task.sleep(for: deadline)
            return try expired()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
