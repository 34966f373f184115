import CZlib

/// gzip (RFC 1952) of a whole buffer with the system zlib: the bot travels to devices compressed,
/// and `gzip -dc` (on every Linux and Unix target) unpacks it there.
enum Gzip {
    static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: the gzip wrapper instead of zlib's.
        guard assay_deflateInit2(&stream, level, 31) == Z_OK else { throw ConsoleError.state("zlib could not start a compressor") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        var input = input
        let status = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer -> Int32 in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw ConsoleError.state("zlib compression failed (\(status))") }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
