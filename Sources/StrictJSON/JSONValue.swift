/// A parsed JSON text (RFC 8259). Integers that fit in 64 bits stay exact; other numbers are
/// doubles. Objects never carry a key twice: the reader refuses such a text, so that two readers
/// of the same document can never disagree about what it says.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A word for error messages: what kind of value this is, never its content.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
