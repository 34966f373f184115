/// A search filter (RFC 4511 §4.5.1.7), read from its string form (RFC 4515 §3). The parser is
/// strict: every value is unescaped from `\XX`, and the bytes that RFC 4515 says must be escaped
/// (`*`, `(`, `)`, `\`, NUL) never appear raw inside a value.
public indirect enum SearchFilter: Equatable, Sendable {
    case and([SearchFilter])
    case or([SearchFilter])
    case not(SearchFilter)
    case equal(String, [UInt8])
    case substrings(String, initial: [UInt8]?, any: [[UInt8]], final: [UInt8]?)
    case greaterOrEqual(String, [UInt8])
    case lessOrEqual(String, [UInt8])
    case present(String)
    case approximate(String, [UInt8])
    /// RFC 4515 `attr:dn:rule:=value`; attribute or rule may be absent, not both.
    case extensible(attribute: String?, rule: String?, value: [UInt8], dnAttributes: Bool)

    /// Filters nest at most this deep: a hostile filter cannot exhaust the stack.
    public static let maxDepth = 32
    public static let maxLength = 4096

    public init(parsing text: String) throws(LDAPError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maxLength else { throw .invalidFilter(offset: Self.maxLength, reason: "longer than \(Self.maxLength) bytes") }
        var parser = FilterParser(bytes: bytes)
        self = try parser.filter(depth: 0)
        guard parser.offset == bytes.count else { throw .invalidFilter(offset: parser.offset, reason: "text after the filter's closing parenthesis") }
    }
}

private struct FilterParser {
    let bytes: [UInt8]
    var offset = 0

    func fail(_ reason: String) -> LDAPError { .invalidFilter(offset: offset, reason: reason) }

    mutating func expect(_ byte: UInt8, _ what: String) throws(LDAPError) {
        guard offset < bytes.count, bytes[offset] == byte else { throw fail("\(what) expected") }
        offset += 1
    }

    mutating func filter(depth: Int) throws(LDAPError) -> SearchFilter {
        guard depth < SearchFilter.maxDepth else { throw fail("nested deeper than \(SearchFilter.maxDepth)") }
        try expect(UInt8(ascii: "("), "'('")
        guard offset < bytes.count else { throw fail("the filter ends early") }
        let result: SearchFilter
        switch bytes[offset] {
        case UInt8(ascii: "&"):
            offset += 1
            result = .and(try list(depth: depth))
        case UInt8(ascii: "|"):
            offset += 1
            result = .or(try list(depth: depth))
        case UInt8(ascii: "!"):
            offset += 1
            result = .not(try filter(depth: depth + 1))
        default:
            result = try item()
        }
        try expect(UInt8(ascii: ")"), "')'")
        return result
    }

    mutating func list(depth: Int) throws(LDAPError) -> [SearchFilter] {
        var filters: [SearchFilter] = []
        while offset < bytes.count, bytes[offset] == UInt8(ascii: "(") {
            filters.append(try filter(depth: depth + 1))
        }
        guard !filters.isEmpty else { throw fail("'&' and '|' need at least one filter") }
        return filters
    }

    /// An attribute description (RFC 4512 §2.5): a name or an OID, with options after `;`.
    mutating func attribute() -> String {
        let start = offset
        while offset < bytes.count, Self.isAttributeByte(bytes[offset]) { offset += 1 }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    static func isAttributeByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ";")
    }

    mutating func item() throws(LDAPError) -> SearchFilter {
        let attributeStart = offset
        let name = attribute()
        guard offset < bytes.count else { throw fail("the filter ends early") }
        if bytes[offset] == UInt8(ascii: ":") { return try extensible(name.isEmpty ? nil : name) }
        guard !name.isEmpty else {
            offset = attributeStart
            throw fail("an attribute name expected")
        }
        let operatorByte = bytes[offset]
        switch operatorByte {
        case UInt8(ascii: "="):
            offset += 1
            return try equalityOrSubstrings(name)
        case UInt8(ascii: ">"), UInt8(ascii: "<"), UInt8(ascii: "~"):
            offset += 1
            try expect(UInt8(ascii: "="), "'='")
            let value = try assertionValue(allowStar: false).joined
            return operatorByte == UInt8(ascii: ">")
                ? .greaterOrEqual(name, value) : operatorByte == UInt8(ascii: "<") ? .lessOrEqual(name, value) : .approximate(name, value)
        default:
            throw fail("'=', '>=', '<=' or '~=' expected")
        }
    }

    mutating func equalityOrSubstrings(_ name: String) throws(LDAPError) -> SearchFilter {
        let parts = try assertionValue(allowStar: true).parts
        if parts.count == 1 { return .equal(name, parts[0]) }
        if parts.count == 2, parts[0].isEmpty, parts[1].isEmpty { return .present(name) }
        let middle = parts.dropFirst().dropLast()
        guard middle.allSatisfy({ !$0.isEmpty }) else { throw fail("'**' is not a substring filter") }
        return .substrings(name, initial: parts.first!.isEmpty ? nil : parts.first!, any: Array(middle), final: parts.last!.isEmpty ? nil : parts.last!)
    }

    mutating func extensible(_ name: String?) throws(LDAPError) -> SearchFilter {
        var dnAttributes = false
        var rule: String?
        // `:dn` and `:rule` may follow the attribute, then `:=`.
        while offset < bytes.count, bytes[offset] == UInt8(ascii: ":") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "=") {
                offset += 1
                guard name != nil || rule != nil else { throw fail("an extensible match needs an attribute or a matching rule") }
                let value = try assertionValue(allowStar: false).joined
                return .extensible(attribute: name, rule: rule, value: value, dnAttributes: dnAttributes)
            }
            let word = attribute()
            guard !word.isEmpty else { throw fail("'dn', a matching rule or '=' expected after ':'") }
            if word.lowercased() == "dn", !dnAttributes, rule == nil { dnAttributes = true } else { rule = word }
        }
        throw fail("':=' expected")
    }

    /// The value up to the closing parenthesis, split on unescaped `*` when that is allowed.
    mutating func assertionValue(allowStar: Bool) throws(LDAPError) -> (parts: [[UInt8]], joined: [UInt8]) {
        var parts: [[UInt8]] = [[]]
        while offset < bytes.count, bytes[offset] != UInt8(ascii: ")") {
            let byte = bytes[offset]
            switch byte {
            case UInt8(ascii: "*"):
                guard allowStar else { throw fail("'*' must be written \\2a here") }
                parts.append([])
                offset += 1
            case UInt8(ascii: "("), 0:
                throw fail("'(' and NUL must be written \\28 and \\00 inside a value")
            case UInt8(ascii: "\\"):
                guard offset + 2 < bytes.count, let high = Self.hex(bytes[offset + 1]), let low = Self.hex(bytes[offset + 2]) else {
                    throw fail("'\\' must be followed by two hex digits")
                }
                parts[parts.count - 1].append(high << 4 | low)
                offset += 3
            default:
                parts[parts.count - 1].append(byte)
                offset += 1
            }
        }
        return (parts, parts.joined().map { $0 })
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
