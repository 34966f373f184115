/// Packet tags (RFC 9580 §5, table 3) that this implementation reads or writes.
public enum PacketTag: UInt8, Sendable, CustomStringConvertible {
    case publicKeyEncryptedSessionKey = 1
    case signature = 2
    case symmetricKeyEncryptedSessionKey = 3
    case onePassSignature = 4
    case secretKey = 5
    case publicKey = 6
    case secretSubkey = 7
    case compressedData = 8
    case symmetricallyEncryptedData = 9
    case marker = 10
    case literalData = 11
    case trust = 12
    case userID = 13
    case publicSubkey = 14
    case userAttribute = 17
    case symEncryptedIntegrityProtectedData = 18
    case modificationDetectionCode = 19
    case aeadEncryptedData = 20
    case padding = 21

    /// A short name for error messages, with the tag number.
    public var description: String {
        let name =
            switch self {
            case .publicKeyEncryptedSessionKey: "PKESK"
            case .signature: "signature"
            case .symmetricKeyEncryptedSessionKey: "SKESK"
            case .onePassSignature: "one-pass signature"
            case .secretKey: "secret key"
            case .publicKey: "public key"
            case .secretSubkey: "secret subkey"
            case .compressedData: "compressed data"
            case .symmetricallyEncryptedData: "unprotected encrypted data"
            case .marker: "marker"
            case .literalData: "literal data"
            case .trust: "trust"
            case .userID: "user ID"
            case .publicSubkey: "public subkey"
            case .userAttribute: "user attribute"
            case .symEncryptedIntegrityProtectedData: "SEIPD"
            case .modificationDetectionCode: "MDC"
            case .aeadEncryptedData: "AEAD data"
            case .padding: "padding"
            }
        return "\(name) packet (tag \(rawValue))"
    }

    /// Only data packets may use partial body lengths (RFC 9580 §4.2.1.4).
    var allowsPartialLengths: Bool {
        switch self {
        case .compressedData, .symmetricallyEncryptedData, .literalData,
            .symEncryptedIntegrityProtectedData, .aeadEncryptedData:
            true
        default: false
        }
    }
}

/// One packet: its tag and its whole body (partial body chunks already joined).
struct Packet: Equatable {
    let tag: PacketTag
    let body: [UInt8]

    /// Serializes with a new-format header and a definite length (RFC 9580 §4.2.1).
    var encoded: [UInt8] {
        var out = PacketHeader.encode(tag: tag, length: body.count)
        out.append(contentsOf: body)
        return out
    }
}

enum PacketHeader {
    /// New-format header with a definite length (RFC 9580 §4.2.1.1–3).
    static func encode(tag: PacketTag, length: Int) -> [UInt8] {
        var out: [UInt8] = [0xC0 | tag.rawValue]
        out.append(contentsOf: encodeLength(length))
        return out
    }

    static func encodeLength(_ length: Int) -> [UInt8] {
        switch length {
        case ..<192:
            return [UInt8(length)]
        case ..<8384:
            let adjusted = length - 192
            return [UInt8(adjusted >> 8) + 192, UInt8(adjusted & 0xFF)]
        default:
            var out: [UInt8] = [0xFF]
            out.appendUInt32(UInt32(length))
            return out
        }
    }
}

/// Splits a byte string into packets, strictly: each header is checked, each length is bounded by
/// what remains, partial lengths are accepted only on data packets, unknown tags are refused.
struct PacketReader {
    private var reader: ByteReader
    private let maxPacketBytes: Int

    init(_ bytes: [UInt8], maxPacketBytes: Int = .max) {
        self.reader = ByteReader(bytes)
        self.maxPacketBytes = maxPacketBytes
    }

    var isAtEnd: Bool { reader.isAtEnd }
    /// Where the next packet starts.
    var offset: Int { reader.offset }

    mutating func next() throws(OpenPGPError) -> Packet? {
        guard !reader.isAtEnd else { return nil }
        let start = reader.offset
        let first = try reader.readByte("packet header")
        guard first & 0x80 != 0 else {
            throw .malformed("byte \(start) is not a packet header (bit 7 clear: 0x\([first].hexString))")
        }
        let isNewFormat = first & 0x40 != 0
        let rawTag = isNewFormat ? first & 0x3F : (first >> 2) & 0x0F
        guard let tag = PacketTag(rawValue: rawTag) else {
            throw .unsupported("packet tag \(rawTag) at byte \(start)")
        }
        var body: [UInt8]
        if isNewFormat {
            body = try readNewFormatBody(tag: tag)
        } else {
            body = try readOldFormatBody(tag: tag, lengthType: first & 0x03)
        }
        if body.count > maxPacketBytes {
            body = []
            throw .tooLarge("\(tag) is larger than \(maxPacketBytes) bytes")
        }
        return Packet(tag: tag, body: body)
    }

    private mutating func readOldFormatBody(tag: PacketTag, lengthType: UInt8) throws(OpenPGPError) -> [UInt8] {
        // RFC 9580 §4.2.2 (legacy format): 1, 2 or 4 length octets, or 3 = up to the end.
        let length: Int
        switch lengthType {
        case 0: length = Int(try reader.readByte("length of \(tag)"))
        case 1: length = try reader.readUInt16("length of \(tag)")
        case 2: length = Int(try reader.readUInt32("length of \(tag)"))
        default:
            guard tag.allowsPartialLengths else {
                throw .malformed("\(tag) uses an indeterminate length")
            }
            return reader.readRest()
        }
        return try readDefinite(length, tag: tag)
    }

    private mutating func readNewFormatBody(tag: PacketTag) throws(OpenPGPError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let first = Int(try reader.readByte("length of \(tag)"))
            switch first {
            case 0..<192:
                body.append(contentsOf: try readDefinite(first, tag: tag))
                return body
            case 192..<224:
                let second = Int(try reader.readByte("length of \(tag)"))
                body.append(contentsOf: try readDefinite(((first - 192) << 8) + second + 192, tag: tag))
                return body
            case 255:
                let length = Int(try reader.readUInt32("length of \(tag)"))
                body.append(contentsOf: try readDefinite(length, tag: tag))
                return body
            default:
                // Partial body length (RFC 9580 §4.2.1.4): a power of two, then another length follows.
                guard tag.allowsPartialLengths else {
                    throw .malformed("\(tag) uses a partial body length")
                }
                let chunk = 1 << (first & 0x1F)
                body.append(contentsOf: try readDefinite(chunk, tag: tag))
                if body.count > maxPacketBytes {
                    throw .tooLarge("\(tag) is larger than \(maxPacketBytes) bytes")
                }
            }
        }
    }

    private mutating func readDefinite(_ length: Int, tag: PacketTag) throws(OpenPGPError) -> [UInt8] {
        guard length <= reader.remaining else {
            throw .malformed("\(tag) declares \(length) bytes but only \(reader.remaining) remain")
        }
        guard length <= maxPacketBytes else {
            throw .tooLarge("\(tag) is larger than \(maxPacketBytes) bytes")
        }
        return try reader.readBytes(length, "\(tag) body")
    }
}

/// Writes one data packet whose length is not known in advance: definite when the body stays
/// within one chunk, otherwise partial body lengths of `chunkSize` (RFC 9580 §4.2.1.4).
final class PacketStreamWriter: ByteSink {
    private let tag: PacketTag
    private let next: any ByteSink
    private var buffer: [UInt8] = []
    private var emittedPartial = false
    /// 2^16: one length octet per 64 KiB of body.
    private static let chunkExponent = 16
    private static let chunkSize = 1 << chunkExponent

    init(tag: PacketTag, next: any ByteSink) {
        precondition(tag.allowsPartialLengths)
        self.tag = tag
        self.next = next
        buffer.reserveCapacity(Self.chunkSize + 1)
    }

    func write(_ bytes: ArraySlice<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        while buffer.count > Self.chunkSize {
            var header: [UInt8] = []
            if !emittedPartial { header.append(0xC0 | tag.rawValue) }
            header.append(UInt8(224 + Self.chunkExponent))
            try next.write(header[...])
            try next.write(buffer[0..<Self.chunkSize])
            buffer.removeFirst(Self.chunkSize)
            emittedPartial = true
        }
    }

    func finish() throws {
        var header: [UInt8] = []
        if !emittedPartial { header.append(0xC0 | tag.rawValue) }
        header.append(contentsOf: PacketHeader.encodeLength(buffer.count))
        try next.write(header[...])
        try next.write(buffer[...])
        buffer = []
        try next.finish()
    }
}

/// A stage of a streaming pipeline.
protocol ByteSink: AnyObject {
    func write(_ bytes: ArraySlice<UInt8>) throws
    func finish() throws
}

/// The end of a pipeline: hands bytes to the caller.
final class ClosureSink: ByteSink {
    private let body: ([UInt8]) throws -> Void
    init(_ body: @escaping ([UInt8]) throws -> Void) { self.body = body }
    func write(_ bytes: ArraySlice<UInt8>) throws { if !bytes.isEmpty { try body(Array(bytes)) } }
    func finish() throws {}
}
