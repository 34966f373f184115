import CZlib

/// Streaming deflate over the system zlib, as a pipeline stage. `.zip` is raw DEFLATE (RFC 1951),
/// `.zlib` adds the RFC 1950 header and Adler-32 (RFC 9580 §9.4).
final class DeflateWriter: ByteSink {
    private let stream: UnsafeMutablePointer<z_stream>
    private let next: any ByteSink
    private var output = [UInt8](repeating: 0, count: 64 * 1024)

    init(algorithm: CompressionAlgorithm, level: Int32 = 6, next: any ByteSink) throws {
        precondition(algorithm != .uncompressed)
        self.next = next
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let windowBits: Int32 = algorithm == .zlib ? 15 : -15
        guard assay_deflateInit2(stream, level, windowBits) == Z_OK else {
            stream.deallocate()
            throw OpenPGPError.unsupported("zlib could not start a compressor")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func write(_ bytes: ArraySlice<UInt8>) throws {
        guard !bytes.isEmpty else { return }
        try run(bytes, flush: Z_NO_FLUSH)
    }

    func finish() throws {
        try run([][...], flush: Z_FINISH)
        try next.finish()
    }

    private func run(_ input: ArraySlice<UInt8>, flush: Int32) throws {
        var input = Array(input)
        try input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inBuffer.count)
            repeat {
                let produced = try output.withUnsafeMutableBufferPointer { outBuffer -> Int in
                    stream.pointee.next_out = outBuffer.baseAddress
                    stream.pointee.avail_out = UInt32(outBuffer.count)
                    let status = deflate(stream, flush)
                    guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                        throw OpenPGPError.unsupported("zlib compression failed (\(status))")
                    }
                    return outBuffer.count - Int(stream.pointee.avail_out)
                }
                if produced > 0 { try next.write(output[0..<produced]) }
            } while stream.pointee.avail_out == 0 || stream.pointee.avail_in > 0
        }
    }
}

/// Inflates a whole buffer with a hard ceiling on output: stops as soon as the ceiling is passed,
/// so a compression bomb costs at most `limit` bytes of memory.
enum Inflater {
    static func inflate(_ input: [UInt8], algorithm: CompressionAlgorithm, limit: Int) throws(OpenPGPError) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard assay_inflateInit2(stream, algorithm == .zlib ? 15 : -15) == Z_OK else {
            throw .unsupported("zlib could not start a decompressor")
        }
        // Inflate straight into the output, growing it geometrically up to one byte past the
        // limit: no intermediate chunk, no copy, and a bomb stops at the first byte over.
        var output = [UInt8](repeating: 0, count: min(limit + 1, max(16 * 1024, input.count * 8)))
        var produced = 0
        var status: Int32 = Z_OK
        var failure: OpenPGPError?
        input.withUnsafeBufferPointer { inBuffer in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.pointee.avail_in = UInt32(inBuffer.count)
            while status == Z_OK {
                if produced == output.count {
                    guard output.count <= limit else {
                        failure = .tooLarge("decompressed data exceeds \(limit) bytes")
                        return
                    }
                    output.append(contentsOf: repeatElement(0, count: min(limit + 1, output.count * 2) - output.count))
                }
                output.withUnsafeMutableBufferPointer { outBuffer in
                    stream.pointee.next_out = outBuffer.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(outBuffer.count - produced)
                    status = CZlib.inflate(stream, Z_NO_FLUSH)
                    produced = outBuffer.count - Int(stream.pointee.avail_out)
                }
                if produced > limit {
                    failure = .tooLarge("decompressed data exceeds \(limit) bytes")
                    return
                }
                if status == Z_BUF_ERROR, stream.pointee.avail_in == 0 {
                    failure = .malformed("compressed data is truncated")
                    return
                }
                if status == Z_BUF_ERROR, produced == output.count { status = Z_OK }  // just out of room
            }
            if status != Z_STREAM_END {
                failure = .malformed("compressed data is corrupt (zlib status \(status))")
            } else if stream.pointee.avail_in != 0 {
                failure = .malformed("\(stream.pointee.avail_in) bytes follow the end of the compressed stream")
            }
        }
        if let failure { throw failure }
        output.removeLast(output.count - produced)
        return output
    }
}
