/// A cursor over bytes that never reads past its end: every read is checked and fails with
/// `OpenPGPError.malformed` naming what was being read.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset >= end }

    mutating func readByte(_ what: @autoclosure () -> String) throws(OpenPGPError) -> UInt8 {
        guard offset < end else { throw .malformed("truncated while reading \(what())") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String) throws(OpenPGPError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw .malformed("\(what()) needs \(count) bytes but only \(remaining) remain")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func readUInt16(_ what: @autoclosure () -> String) throws(OpenPGPError) -> Int {
        let b = try readBytes(2, what())
        return Int(b[0]) << 8 | Int(b[1])
    }

    mutating func readUInt32(_ what: @autoclosure () -> String) throws(OpenPGPError) -> UInt32 {
        let b = try readBytes(4, what())
        return UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
    }

    mutating func readRest() -> [UInt8] {
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    /// Multiprecision integer (RFC 9580 §3.2): a two-octet bit count, then big-endian bytes.
    mutating func readMPI(_ what: @autoclosure () -> String) throws(OpenPGPError) -> [UInt8] {
        let bits = try readUInt16("bit count of \(what())")
        let value = try readBytes((bits + 7) / 8, what())
        if let first = value.first, first == 0 {
            throw .malformed("\(what()) has a leading zero byte")
        }
        return value
    }
}

extension Array where Element == UInt8 {
    mutating func appendUInt16(_ value: Int) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    mutating func appendUInt32(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends an MPI (RFC 9580 §3.2), dropping leading zero bytes as the encoding requires.
    mutating func appendMPI(_ magnitude: [UInt8]) {
        let trimmed = magnitude.drop(while: { $0 == 0 })
        let bits = trimmed.first.map { (trimmed.count - 1) * 8 + (8 - $0.leadingZeroBitCount) } ?? 0
        appendUInt16(bits)
        append(contentsOf: trimmed)
    }

    var hexString: String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Left-pads a big-endian magnitude to `length` bytes (RSA inputs must be modulus-sized).
func leftPadded(_ bytes: [UInt8], to length: Int) -> [UInt8] {
    let trimmed = Array(bytes.drop(while: { $0 == 0 }))
    guard trimmed.count < length else { return trimmed }
    return [UInt8](repeating: 0, count: length - trimmed.count) + trimmed
}

/// Compares without an early exit, so timing does not reveal where two secrets differ.
func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
