import FluentPostgresDriver
import Logging

/// How the web tier may speak of a database failure without knowing the drivers.
enum DatabaseErrors {
    /// A database that is out of reach or out of connections: a passing condition, not a fault.
    static func isUnavailable(_ error: any Error) -> Bool {
        if error is ConnectionPoolTimeoutError { return true }
        if let pool = error as? ConnectionPoolError, case .shutdown = pool { return true }
        if let postgres = error as? PSQLError {
            if [.connectionError, .uncleanShutdown, .serverClosedConnection, .clientClosedConnection, .poolClosed].contains(postgres.code) { return true }
            // SQLSTATE classes 08 (connection), 53 (insufficient resources), 57P (shutting down, cannot connect now)
            if let state = postgres.sqlState { return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P") }
        }
        return false
    }

    /// What an operator may read about a failure: its type and, for PostgreSQL, the kind and the
    /// SQLSTATE; never a message, which can quote the data.
    static func describe(_ error: any Error) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["error": .string(String(describing: type(of: error)))]
        if let postgres = error as? PSQLError {
            metadata["postgres"] = .string(postgres.code.description)
            if let state = postgres.sqlState { metadata["sqlstate"] = .string(state) }
        }
        return metadata
    }
}

extension PSQLError {
    /// The server's five-character error class and condition, when the server answered.
    var sqlState: String? { serverInfo?[.sqlState] }
}
