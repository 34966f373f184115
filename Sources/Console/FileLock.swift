import Foundation

/// An exclusive flock(2) on a file in the state directory: held while the grant is renewed or a
/// campaign record is rewritten, so that console processes running at once take turns. The holder
/// writes who it is into the file, so that one that waits too long can say whom it waited for.
struct FileLock {
    let descriptor: Int32

    /// Waits for the lock, at most `wait` when given (then a message names the holder).
    init(_ path: String, wait: Duration? = nil) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ConsoleError.state("cannot open \(path)") }
        let started = ContinuousClock.now
        while flock(descriptor, wait == nil ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            guard errno == EWOULDBLOCK, let wait else {
                close(descriptor)
                throw ConsoleError.state("cannot lock \(path)")
            }
            guard ContinuousClock.now - started < wait else {
                let holder = Self.holder(descriptor)
                close(descriptor)
                throw ConsoleError.state(
                    "\(path) is held by \(holder) for more than \(wait.components.seconds) s: wait for it to end, or stop it if it hangs")
            }
            usleep(100_000)
        }
        Self.recordHolder(descriptor)
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    private static func recordHolder(_ descriptor: Int32) {
        let arguments = CommandLine.arguments.prefix(3).map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: " ")
        let line = "pid \(getpid()) (\(arguments.prefix(80))) since \(Date().formatted(.iso8601))\n"
        ftruncate(descriptor, 0)
        _ = line.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    private static func holder(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 200)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        let text = count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return text.isEmpty ? "another process" : text
    }
}
