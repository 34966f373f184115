/// A strict JSON reader for untrusted documents (RFC 8259), about ten times faster than
/// Foundation's on Linux for the bot's documents. Strict means: exactly one value with only
/// whitespace around it (§2), no comments, no trailing commas, no leading zeros or bare `.5`
/// (§6), no unescaped control characters and only the escapes of §7, surrogate pairs whole, valid
/// UTF-8 (§8.1), no duplicate keys (§4 leaves them undefined: refusing is the only safe reading),
/// and a nesting limit. A refusal names the byte offset and what was wrong, never the content.
public struct JSONReader: Sendable {
    public struct Limits: Sendable {
        public var maxDepth = 64
        public var maxStringBytes = 1 << 20
        public init() {}
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }

        public init(offset: Int, reason: String) {
            self.offset = offset
            self.reason = reason
        }
    }

    public let limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        try parseRecordingMembers(bytes).value
    }

    /// Parses like `parse`, and tells where each member of a top-level object lies in the text
    /// (key → byte range of its value), so that a caller can keep or cut parts of the document
    /// as it was sent, without writing it again.
    public func parseRecordingMembers(_ bytes: [UInt8]) throws(Failure) -> (value: JSONValue, members: [String: Range<Int>]) {
        do {
            return try bytes.withUnsafeBufferPointer { buffer in
                var cursor = Cursor(bytes: buffer, limits: limits)
                cursor.skipWhitespace()
                let value = try cursor.value(depth: 0)
                cursor.skipWhitespace()
                guard cursor.index == buffer.count else { throw cursor.failure("text after the value") }
                return (value, cursor.topLevelMembers)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(offset: 0, reason: "unreadable")
        }
    }
}

private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: JSONReader.Limits
    var index = 0
    /// Byte ranges of the values of the outermost object's members.
    var topLevelMembers: [String: Range<Int>] = [:]

    init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONReader.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    func failure(_ reason: String) -> JSONReader.Failure { JSONReader.Failure(offset: index, reason: reason) }

    /// The byte under the cursor, or 0 past the end (0 is never valid outside a string).
    @inline(__always) var current: UInt8 { index < bytes.count ? bytes[index] : 0 }

    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONReader.Failure) -> JSONValue {
        switch current {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        case 0 where index >= bytes.count: throw failure("the text ends where a value should be")
        default: throw failure("a value cannot start here")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONReader.Failure) {
        let length = word.utf8CodeUnitCount
        guard bytes.count - index >= length else { throw failure("unknown word") }
        for offset in 0..<length where bytes[index + offset] != word.utf8Start[offset] { throw failure("unknown word") }
        index += length
    }

    mutating func object(depth: Int) throws(JSONReader.Failure) -> JSONValue {
        guard depth <= limits.maxDepth else { throw failure("nested deeper than \(limits.maxDepth) levels") }
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("an object key must be a string") }
            let keyOffset = index
            let key = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("':' expected after an object key") }
            index += 1
            skipWhitespace()
            let valueStart = index
            let member = try value(depth: depth)
            if depth == 1 { topLevelMembers[key] = valueStart..<index }
            guard members.updateValue(member, forKey: key) == nil else {
                throw JSONReader.Failure(offset: keyOffset, reason: "a key appears twice in one object")
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(members)
            default: throw failure("',' or '}' expected in an object")
            }
        }
    }

    mutating func array(depth: Int) throws(JSONReader.Failure) -> JSONValue {
        guard depth <= limits.maxDepth else { throw failure("nested deeper than \(limits.maxDepth) levels") }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: throw failure("',' or ']' expected in an array")
            }
        }
    }

    // MARK: strings (§7)

    mutating func string() throws(JSONReader.Failure) -> String {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes are the string once their UTF-8 is checked (nothing
        // to check when every byte is ASCII, as in most of the bot's strings).
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                return try finish(UnsafeBufferPointer(rebasing: bytes[start..<index]), at: start, ascii: ascii)
            }
            ascii = ascii && byte < 0x80
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            guard byte >= 0x20 else { throw failure("a control character must be escaped in a string") }
            index += 1
            guard index - start <= limits.maxStringBytes else { throw failure("a string longer than \(limits.maxStringBytes) bytes") }
        }
        throw failure("the text ends inside a string")
    }

    /// The string of `raw`, past its closing quote; ASCII needs no validation.
    mutating func finish(_ raw: UnsafeBufferPointer<UInt8>, at start: Int, ascii: Bool = false) throws(JSONReader.Failure) -> String {
        guard let text = ascii ? String(decoding: raw, as: UTF8.self) : String(validating: raw, as: UTF8.self) else {
            throw JSONReader.Failure(offset: start, reason: "a string is not valid UTF-8")
        }
        index += 1
        return text
    }

    mutating func escapedString(from start: Int) throws(JSONReader.Failure) -> String {
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let text = try buffer.withUnsafeBufferPointer { (raw) throws(JSONReader.Failure) -> String in
                    guard let text = String(validating: raw, as: UTF8.self) else {
                        throw JSONReader.Failure(offset: start, reason: "a string is not valid UTF-8")
                    }
                    return text
                }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try escape(into: &buffer)
            case 0..<0x20:
                throw failure("a control character must be escaped in a string")
            default:
                buffer.append(byte)
                index += 1
            }
            guard buffer.count <= limits.maxStringBytes else { throw failure("a string longer than \(limits.maxStringBytes) bytes") }
        }
        throw failure("the text ends inside a string")
    }

    mutating func escape(into buffer: inout [UInt8]) throws(JSONReader.Failure) {
        let letter = current
        index += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(letter)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low one: together one scalar.
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("a lone surrogate in a \\u escape")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("a lone surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw failure("a lone surrogate in a \\u escape")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("an invalid \\u escape") }
            buffer.append(contentsOf: UTF8.encode(unicode)!)
        default:
            index -= 1
            throw failure("an unknown escape in a string")
        }
    }

    mutating func hex4() throws(JSONReader.Failure) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    // MARK: numbers (§6)

    mutating func number() throws(JSONReader.Failure) -> JSONValue {
        let start = index
        var negative = false
        if current == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard isDigit(current) else { throw failure("a digit must follow '-'") }
        if current == UInt8(ascii: "0") {
            index += 1
            guard !isDigit(current) else { throw failure("a number cannot have a leading zero") }
        }
        // Accumulate negatively: Int64.min has no positive twin.
        var magnitude: Int64 = 0
        var exact = true
        while isDigit(current) {
            let digit = Int64(current - UInt8(ascii: "0"))
            let (shifted, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.subtractingReportingOverflow(digit)
            if overflowA || overflowB { exact = false } else { magnitude = next }
            index += 1
        }
        var integral = true
        if current == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard isDigit(current) else { throw failure("a digit must follow '.'") }
            while isDigit(current) { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard isDigit(current) else { throw failure("a digit must follow the exponent") }
            while isDigit(current) { index += 1 }
        }
        if integral, exact {
            if negative { return .integer(magnitude) }
            if magnitude != .min { return .integer(-magnitude) }
        }
        // The grammar above has been checked; strtod reads exactly that text.
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else {
            throw JSONReader.Failure(offset: start, reason: "a number out of range")
        }
        return .double(double)
    }

    @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
