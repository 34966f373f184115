import SQLKit

extension SQLDatabase {
    /// Where the two backends need different SQL (SKIP LOCKED, identity columns, JSON unpacking).
    var isPostgreSQL: Bool { dialect.name == "postgresql" }
}
