import Foundation

/// An exclusive flock(2) on a file in the state directory: held while the grant is renewed or a
/// campaign record is rewritten, so that console processes running at once take turns.
struct FileLock {
    let descriptor: Int32

    init(_ path: String) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ConsoleError.state("cannot open \(path)") }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(descriptor)
                throw ConsoleError.state("cannot lock \(path)")
            }
        }
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
