/// The collect scripts' output: `FILE NAME SIZE` + bytes, repeated, then `END yes|no`. Read with
/// bounds: a device cannot make the console take a huge name, a size it does not send, or
/// anything after the end.
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

    init(_ output: [UInt8]) throws {
        var offset = 0
        func line() throws -> String {
            guard let end = output[offset...].prefix(300).firstIndex(of: 0x0A) else { throw Malformed.reason("a header line is missing or too long") }
            defer { offset = end + 1 }
            return String(decoding: output[offset..<end], as: UTF8.self)
        }
        while true {
            let header = try line().split(separator: " ").map(String.init)
            if header.count == 2, header[0] == "END" {
                stillRunning = header[1] == "yes"
                guard offset == output.count else { throw Malformed.reason("bytes after END") }
                return
            }
            guard header.count == 3, header[0] == "FILE", let size = Int(header[2]), size >= 0, size <= Spool.maxFileBytes,
                header[1].hasSuffix(".pgp"), !header[1].hasPrefix("."), header[1].count <= 128,
                header[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
            else { throw Malformed.reason("\"\(header.joined(separator: " ").prefix(80))\" is not FILE NAME SIZE") }
            guard output.count - offset >= size else { throw Malformed.reason("\(header[1]) is shorter than announced") }
            files.append(File(name: header[1], bytes: Array(output[offset..<offset + size])))
            offset += size
            guard files.count <= 10_000 else { throw Malformed.reason("more than 10,000 files") }
        }
    }
}
