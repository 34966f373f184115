import FluentKit
import SQLKit

/// Why a storage call could not run at all (as opposed to a database answering with an error).
public struct StorageFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension Database {
    /// The one way from a Fluent database to SQL. Both backends Assay supports (SQLite and
    /// PostgreSQL) are SQL databases; anything else is a wiring mistake, reported as such.
    func sql() throws -> any SQLDatabase {
        guard let sql = self as? any SQLDatabase else {
            throw StorageFailure(description: "the database \(type(of: self)) does not speak SQL; Assay needs SQLite or PostgreSQL")
        }
        return sql
    }
}
