import CZlib
import Foundation

/// The console a writer downloads (CON-5): the tenant-neutral archive built once by
/// `scripts/build-console.sh` (static `assay` and `assay-bot`, a README: a gzip member holding tar
/// entries without the end-of-archive blocks), followed by a second gzip member made here for the
/// tenant: its bundle, the SHA-256 sums of every file, and the end of the archive. gzip readers
/// join members (RFC 1952 §2.2), so `tar -xzf` sees one archive; nothing in it names the customer.
public enum ConsoleArchive {
    public static let neutralName = "assay-console-linux-x86_64.tar.gz"
    public static let sumsName = "assay-console-linux-x86_64.sha256sums"
    /// The folder every file unpacks into.
    public static let folder = "assay-console"

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notBuilt(directory: String)
        case malformedSums

        public var description: String {
            switch self {
            case .notBuilt(let directory):
                "the console archive is not built on this server: run scripts/build-console.sh (it writes \(directory)/\(ConsoleArchive.neutralName)), or set ASSAY_CONSOLE_DIST to where it is"
            case .malformedSums: "the console archive's sums file is not `SHA256  NAME` lines: build it again with scripts/build-console.sh"
            }
        }
    }

    /// The second member: the bundle and the complete SHA256SUMS as tar entries, then the end.
    public static func tenantPart(bundle: [UInt8], neutralSums: String, bundleSHA256: String, at time: Date) throws -> [UInt8] {
        let lines = neutralSums.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard lines.allSatisfy({ $0.count > 66 && $0.prefix(64).allSatisfy(\.isHexDigit) && $0.dropFirst(64).hasPrefix("  ") }) else {
            throw Failure.malformedSums
        }
        let sums = (lines + ["\(bundleSHA256)  assay-console-bundle.json"]).joined(separator: "\n") + "\n"
        var tar = entry("\(folder)/assay-console-bundle.json", bundle, mode: 0o644, at: time)
        tar += entry("\(folder)/SHA256SUMS", Array(sums.utf8), mode: 0o644, at: time)
        tar += [UInt8](repeating: 0, count: 1024)  // end of archive: two empty blocks
        return gzipStored(tar)
    }

    /// One ustar entry (POSIX.1-1988): a 512-byte header, then the content padded to 512.
    static func entry(_ name: String, _ content: [UInt8], mode: Int, at time: Date) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            put(String(String(value, radix: 8).suffix(width - 1)).leftPadded(to: width - 1), at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(content.count, at: 124, width: 12)
        octal(Int(time.timeIntervalSince1970), at: 136, width: 12)
        put("        ", at: 148, width: 8)  // the checksum counts its own field as spaces
        header[156] = UInt8(ascii: "0")
        put("ustar\u{0}00", at: 257, width: 8)
        put("root", at: 265, width: 32)
        put("root", at: 297, width: 32)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(String(String(checksum, radix: 8)).leftPadded(to: 6) + "\u{0} ", at: 148, width: 8)
        let padding = (512 - content.count % 512) % 512
        return header + content + [UInt8](repeating: 0, count: padding)
    }

    /// A gzip member (RFC 1952) whose deflate data is stored blocks (RFC 1951 §3.2.4): the part is
    /// a few KB of text, not worth compressing.
    static func gzipStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<offset + length]
            offset += length
        } while offset < data.count
        let crc = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        for value in [crc, UInt32(truncatingIfNeeded: data.count)] { out += (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
