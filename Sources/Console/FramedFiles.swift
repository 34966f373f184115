import Foundation

/// The collect scripts' output: `FILE NAME SIZE` + bytes, repeated, then `END yes|no`. Read with
/// bounds: a device cannot make the console take a huge name, a size it does not send, or
/// anything after the end. Read one file at a time from where the answer was streamed, so that
/// what is held in memory is one file (at most `Spool.maxFileBytes`), never the whole answer.
struct FramedFiles {
    struct File {
        let name: String
        let bytes: [UInt8]
    }

    enum Malformed: Error, CustomStringConvertible {
        case reason(String)
        var description: String {
            switch self {
            case .reason(let why): "the device's answer is malformed: \(why)"
            }
        }
    }

    var files: [File] = []
    var stillRunning = false

    /// An answer held in memory (small answers, tests).
    init(_ output: [UInt8]) throws {
        var source = ArraySource(bytes: output)
        var files: [File] = []
        stillRunning = try Self.read(&source) { files.append($0) }
        self.files = files
    }

    /// Reads an answer from a file, handing each file to `each` as it is read; returns whether the
    /// device is still sampling.
    static func read(file path: String, each: (File) throws -> Void) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Malformed.reason("the answer could not be read back") }
        defer { try? handle.close() }
        var source = FileSource(handle: handle)
        return try read(&source, each: each)
    }

    static func read(_ source: inout some FrameSource, each: (File) throws -> Void) throws -> Bool {
        var count = 0
        while true {
            guard let text = try source.line(max: 300) else { throw Malformed.reason("a header line is missing or too long") }
            let header = text.split(separator: " ").map(String.init)
            if header.count == 2, header[0] == "END" {
                guard try source.atEnd() else { throw Malformed.reason("bytes after END") }
                return header[1] == "yes"
            }
            guard header.count == 3, header[0] == "FILE", let size = Int(header[2]), size >= 0, size <= Spool.maxFileBytes,
                header[1].hasSuffix(".pgp"), !header[1].hasPrefix("."), header[1].count <= 128,
                header[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
            else { throw Malformed.reason("\"\(header.joined(separator: " ").prefix(80))\" is not FILE NAME SIZE") }
            guard let bytes = try source.bytes(size) else { throw Malformed.reason("\(header[1]) is shorter than announced") }
            count += 1
            guard count <= 10_000 else { throw Malformed.reason("more than 10,000 files") }
            try each(File(name: header[1], bytes: bytes))
        }
    }
}

/// Where framed bytes come from.
protocol FrameSource {
    /// The next line (without its LF), or nil when none ends within `max` bytes.
    mutating func line(max: Int) throws -> String?
    /// Exactly `count` bytes, or nil when fewer are left.
    mutating func bytes(_ count: Int) throws -> [UInt8]?
    mutating func atEnd() throws -> Bool
}

struct ArraySource: FrameSource {
    let bytes: [UInt8]
    var offset = 0

    mutating func line(max: Int) -> String? {
        guard let end = bytes[offset...].prefix(max).firstIndex(of: 0x0A) else { return nil }
        defer { offset = end + 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    func atEnd() -> Bool { offset == bytes.count }
}

/// A file read in 64 KiB pieces.
struct FileSource: FrameSource {
    let handle: FileHandle
    var buffer: [UInt8] = []
    var exhausted = false

    /// Reads until `count` bytes are buffered or the file ends.
    mutating func fill(_ count: Int) throws {
        while buffer.count < count, !exhausted {
            let piece = try handle.read(upToCount: max(65_536, min(count - buffer.count, 1 << 20))) ?? Data()
            if piece.isEmpty { exhausted = true } else { buffer.append(contentsOf: piece) }
        }
    }

    mutating func line(max: Int) throws -> String? {
        try fill(max)
        guard let end = buffer.prefix(max).firstIndex(of: 0x0A) else { return nil }
        defer { buffer.removeFirst(end + 1) }
        return String(decoding: buffer[..<end], as: UTF8.self)
    }

    mutating func bytes(_ count: Int) throws -> [UInt8]? {
        try fill(count)
        guard buffer.count >= count else { return nil }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    mutating func atEnd() throws -> Bool {
        try fill(1)
        return buffer.isEmpty
    }
}
