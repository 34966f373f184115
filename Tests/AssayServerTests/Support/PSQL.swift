import Foundation

/// Runs one SQL statement with psql against a test server; true when it succeeded.
func runPSQLSucceeds(_ url: String, _ sql: String) throws -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
    process.arguments = [url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// Runs one SQL statement with psql against a test server; throws when it failed.
func runPSQL(_ url: String, _ sql: String) throws {
    guard try runPSQLSucceeds(url, sql) else { throw PSQLFailure(sql: sql) }
}

struct PSQLFailure: Error { let sql: String }
