#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// ASCII armor (RFC 9580 §6): base64 in 64-column lines between BEGIN/END lines, with the CRC-24
/// checksum line that GnuPG 2.2 writes and expects.
public enum Armor {
    public enum Kind: String, Sendable, CaseIterable {
        case message = "PGP MESSAGE"
        case publicKey = "PGP PUBLIC KEY BLOCK"
        case privateKey = "PGP PRIVATE KEY BLOCK"
        case signature = "PGP SIGNATURE"
    }

    public static func encode(_ bytes: [UInt8], as kind: Kind) -> String {
        var out = [UInt8]()
        let sink = ClosureSink { out.append(contentsOf: $0) }
        let armor = ArmorWriter(kind: kind, next: sink)
        try? armor.write(bytes[...])
        try? armor.finish()
        return String(decoding: out, as: UTF8.self)
    }

    /// True when the bytes start (after white space) with an armor header line.
    public static func looksArmored(_ bytes: some Collection<UInt8>) -> Bool {
        let start = bytes.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D })
        return start.starts(with: Array("-----BEGIN PGP ".utf8))
    }

    /// Decodes the first armored block. Headers are skipped; the checksum is verified when present.
    public static func decode(_ text: some Collection<UInt8>) throws(OpenPGPError) -> (kind: Kind, bytes: [UInt8]) {
        let lines = String(decoding: Array(text), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
            .map { $0.trimmingSuffix(while: { $0 == " " || $0 == "\t" }) }
        guard let beginIndex = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN PGP ") && $0.hasSuffix("-----") }) else {
            throw .malformed("no armor header line (-----BEGIN PGP …-----)")
        }
        let label = String(lines[beginIndex].dropFirst(11).dropLast(5))
        guard let kind = Kind(rawValue: label) else {
            throw .unsupported("armor type \"\(label.prefix(40))\"")
        }
        let endLine = "-----END \(label)-----"
        guard let endIndex = lines[(beginIndex + 1)...].firstIndex(where: { $0 == endLine }) else {
            throw .malformed("no armor tail line (\(endLine))")
        }
        var bodyLines = Array(lines[(beginIndex + 1)..<endIndex])
        // Armor headers ("Key: value") end at the first blank line (RFC 9580 §6.2).
        if let blank = bodyLines.firstIndex(where: { $0.isEmpty }),
            bodyLines[..<blank].allSatisfy({ $0.contains(": ") })
        {
            bodyLines.removeFirst(blank + 1)
        }
        var checksum: [UInt8]?
        if let last = bodyLines.last(where: { !$0.isEmpty }), last.hasPrefix("="), last.count == 5 {
            guard let decoded = Data(base64Encoded: String(last.dropFirst())) else {
                throw .malformed("armor checksum line is not base64")
            }
            checksum = Array(decoded)
            bodyLines.removeAll(where: { $0 == last })
        }
        let base64 = bodyLines.joined()
        guard let data = Data(base64Encoded: base64) else {
            throw .malformed("armor body is not valid base64")
        }
        let bytes = Array(data)
        if let checksum, checksum != CRC24.checksum(bytes) {
            throw .malformed("armor checksum does not match its body")
        }
        return (kind, bytes)
    }
}

extension Substring {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[startIndex..<end]
    }
}

/// CRC-24 of the armor checksum line (RFC 9580 §6.1). A checksum, not a cryptographic primitive.
struct CRC24 {
    private(set) var value: UInt32 = 0xB704CE

    mutating func update(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            value ^= UInt32(byte) << 16
            for _ in 0..<8 {
                value <<= 1
                if value & 0x1000000 != 0 { value ^= 0x1864CFB }
            }
        }
    }

    var bytes: [UInt8] { [UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }

    static func checksum(_ bytes: [UInt8]) -> [UInt8] {
        var crc = CRC24()
        crc.update(bytes)
        return crc.bytes
    }
}

/// Streams armor: 48 input bytes per 64-character line, the checksum and the tail at the end.
final class ArmorWriter: ByteSink {
    private let kind: Armor.Kind
    private let next: any ByteSink
    private var pending: [UInt8] = []
    private var crc = CRC24()
    private var wroteHeader = false

    init(kind: Armor.Kind, next: any ByteSink) {
        self.kind = kind
        self.next = next
    }

    func write(_ bytes: ArraySlice<UInt8>) throws {
        try writeHeaderIfNeeded()
        crc.update(bytes)
        pending.append(contentsOf: bytes)
        let whole = pending.count - pending.count % 48
        guard whole > 0 else { return }
        var out = [UInt8]()
        out.reserveCapacity(whole / 48 * 65)
        var index = 0
        while index < whole {
            out.append(contentsOf: Data(pending[index..<index + 48]).base64EncodedData())
            out.append(0x0A)
            index += 48
        }
        pending.removeFirst(whole)
        try next.write(out[...])
    }

    func finish() throws {
        try writeHeaderIfNeeded()
        var out = [UInt8]()
        if !pending.isEmpty {
            out.append(contentsOf: Data(pending).base64EncodedData())
            out.append(0x0A)
        }
        out.append(contentsOf: Array("=".utf8))
        out.append(contentsOf: Data(crc.bytes).base64EncodedData())
        out.append(contentsOf: Array("\n-----END \(kind.rawValue)-----\n".utf8))
        try next.write(out[...])
        try next.finish()
    }

    private func writeHeaderIfNeeded() throws {
        guard !wroteHeader else { return }
        wroteHeader = true
        try next.write(Array("-----BEGIN \(kind.rawValue)-----\n\n".utf8)[...])
    }
}
