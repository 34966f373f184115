/// Decodes `Decodable` types from bytes read by `JSONReader`: the same strictness, and the same
/// `DecodingError`s (with coding paths) that `JSONDecoder` throws, so callers can explain a
/// refusal by where it happened.
public struct JSONValueDecoder: Sendable {
    public var limits: JSONReader.Limits

    public init(limits: JSONReader.Limits = JSONReader.Limits()) {
        self.limits = limits
    }

    /// Throws `JSONReader.Failure` for text that is not JSON, `DecodingError` for JSON of the wrong shape.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: try JSONReader(limits: limits).parse(bytes))
    }

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: TreeDecoder(value: value, codingPath: []))
    }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(_ index: Int) {
        intValue = index
        stringValue = "\(index)"
    }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.init(intValue) }
}

private struct TreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: JSONValue].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([JSONValue].self, value, codingPath) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath)
    }
}

private func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
    if case .null = value {
        return .valueNotFound(type, .init(codingPath: path, debugDescription: "null where \(type) was expected"))
    }
    return .typeMismatch(type, .init(codingPath: path, debugDescription: "\(value.kindName) where \(type) was expected"))
}

/// Scalars, shared by all three container kinds.
/// The path is only built when needed (an error, or a nested container): building it for every
/// element of an 800-long array would cost more than the parse.
private func unbox<T: Decodable>(_ value: JSONValue, as type: T.Type, path makePath: @autoclosure () -> [any CodingKey]) throws -> T {
    switch value {
    case .string(let string) where type == String.self: return string as! T
    case .integer(let integer) where type == Int64.self: return integer as! T
    case .null where type is any OptionalValue.Type: return (type as! any OptionalValue.Type).none as! T
    // Columns of the bot's documents: whole arrays at once, without a container per element.
    case .array(let elements) where type == [String].self || type == [String?].self || type == [Int64].self || type == [Int64?].self:
        return try column(elements, as: type, path: makePath()) as! T
    case .array(let elements) where type is any StringEnumColumn.Type:
        return try (type as! any StringEnumColumn.Type).decodeColumn(elements, path: makePath()) as! T
    default: return try unboxSlowly(value, as: type, path: makePath())
    }
}

private protocol OptionalValue { static var none: Self { get } }

/// Arrays of string-valued enums (a package's source, say): read whole, like the other columns.
private protocol StringEnumColumn {
    static func decodeColumn(_ elements: [JSONValue], path: [any CodingKey]) throws -> Any
}

extension Array: StringEnumColumn where Element: RawRepresentable & Decodable, Element.RawValue == String {
    fileprivate static func decodeColumn(_ elements: [JSONValue], path: [any CodingKey]) throws -> Any {
        var result: [Element] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .string(let raw) = element else { throw mismatch(String.self, element, path + [IndexKey(index)]) }
            guard let value = Element(rawValue: raw) else {
                throw DecodingError.dataCorrupted(.init(codingPath: path + [IndexKey(index)], debugDescription: "not one of the values \(Element.self) allows"))
            }
            result.append(value)
        }
        return result
    }
}
extension Optional: OptionalValue {}

private func column<T>(_ elements: [JSONValue], as type: T.Type, path: [any CodingKey]) throws -> Any {
    func each<E>(_ read: (JSONValue) -> E?) throws -> [E] {
        var result: [E] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard let value = read(element) else { throw mismatch(E.self, element, path + [IndexKey(index)]) }
            result.append(value)
        }
        return result
    }
    switch type {
    case is [String].Type: return try each { if case .string(let s) = $0 { s } else { nil } }
    case is [String?].Type:
        return try each { (element) -> String?? in
            switch element {
            case .string(let s): .some(s)
            case .null: .some(nil)
            default: nil
            }
        }
    case is [Int64].Type:
        return try each { (element) -> Int64? in
            switch element {
            case .integer(let i): i
            case .double(let d): Int64(exactly: d)
            default: nil
            }
        }
    default:
        return try each { (element) -> Int64?? in
            switch element {
            case .integer(let i): .some(i)
            case .double(let d): Int64(exactly: d).map { .some($0) }
            case .null: .some(nil)
            default: nil
            }
        }
    }
}

private func unboxSlowly<T: Decodable>(_ value: JSONValue, as type: T.Type, path: [any CodingKey]) throws -> T {
    switch type {
    case is String.Type:
        guard case .string(let string) = value else { throw mismatch(type, value, path) }
        return string as! T
    case is Bool.Type:
        guard case .bool(let bool) = value else { throw mismatch(type, value, path) }
        return bool as! T
    case is Int64.Type: return try integer(value, Int64.self, path) as! T
    case is Int.Type: return try integer(value, Int.self, path) as! T
    case is Int32.Type: return try integer(value, Int32.self, path) as! T
    case is Int16.Type: return try integer(value, Int16.self, path) as! T
    case is Int8.Type: return try integer(value, Int8.self, path) as! T
    case is UInt64.Type: return try integer(value, UInt64.self, path) as! T
    case is UInt.Type: return try integer(value, UInt.self, path) as! T
    case is UInt32.Type: return try integer(value, UInt32.self, path) as! T
    case is UInt16.Type: return try integer(value, UInt16.self, path) as! T
    case is UInt8.Type: return try integer(value, UInt8.self, path) as! T
    case is Double.Type: return try floating(value, path) as! T
    case is Float.Type: return Float(try floating(value, path)) as! T
    default: return try T(from: TreeDecoder(value: value, codingPath: path))
    }
}

private func integer<I: FixedWidthInteger>(_ value: JSONValue, _ type: I.Type, _ path: [any CodingKey]) throws -> I {
    switch value {
    case .integer(let integer):
        guard let exact = I(exactly: integer) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "a number that does not fit \(type)"))
        }
        return exact
    case .double(let double):
        guard let exact = I(exactly: double) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "a number that is not a whole \(type)"))
        }
        return exact
    default:
        throw mismatch(type, value, path)
    }
}

private func floating(_ value: JSONValue, _ path: [any CodingKey]) throws -> Double {
    switch value {
    case .integer(let integer): return Double(integer)
    case .double(let double): return double
    default: throw mismatch(Double.self, value, path)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try unbox(try member(key), as: type, path: codingPath + [key])
    }

    // Absent and null both mean nil; JSONDecoder reads optionals the same way.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = members[key.stringValue] else { return nil }
        if case .null = value { return nil }
        return try unbox(value, as: type, path: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: try member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: try member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { TreeDecoder(value: members["super"] ?? .null, codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { TreeDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key]) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    mutating func next<T>(_ type: T.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "the array has no more elements"))
        }
        defer { currentIndex += 1 }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = elements[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let index = currentIndex
        return try unbox(try next(type), as: type, path: codingPath + [IndexKey(index)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let path = codingPath + [IndexKey(currentIndex)]
        return try TreeDecoder(value: try next(type), codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let path = codingPath + [IndexKey(currentIndex)]
        return try TreeDecoder(value: try next([JSONValue].self), codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let path = codingPath + [IndexKey(currentIndex)]
        return TreeDecoder(value: try next(JSONValue.self), codingPath: path)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try unbox(value, as: type, path: codingPath)
    }
}
