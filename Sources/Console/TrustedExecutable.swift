import Foundation

/// A program the console runs or copies to every device (ssh, the bot): named by an absolute path,
/// a regular file owned by root or by the user running the console, and writable by nobody else —
/// so neither a PATH entry (relative ones included) nor another local account can put its own
/// program in the console's hands.
enum TrustedExecutable {
    static func check(_ path: String, what: String) throws -> URL {
        guard path.hasPrefix("/") else {
            throw ConsoleError.input("\(what) must be named by an absolute path, not \"\(path.prefix(200))\"")
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw ConsoleError.input("\(what) \(path) does not exist") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw ConsoleError.input("\(what) \(path) is not a regular file") }
        guard info.st_uid == 0 || info.st_uid == geteuid() else {
            throw ConsoleError.refused("\(what) \(path) belongs to another user (uid \(info.st_uid)): refused")
        }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            throw ConsoleError.refused("\(what) \(path) can be changed by other users (mode \(String(info.st_mode & 0o7777, radix: 8))): refused")
        }
        guard access(path, X_OK) == 0 else { throw ConsoleError.input("\(what) \(path) is not executable") }
        return URL(fileURLWithPath: path)
    }
}
