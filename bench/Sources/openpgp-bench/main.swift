import OpenPGP

#if canImport(Glibc)
    import Glibc
#endif

/// In-process timing of OpenPGP encrypt and decrypt, for bench/openpgp.sh.
///   openpgp-bench SECRET_KEY INPUT ITERATIONS COMPRESSION
/// Prints one line: bytes, message size, median encrypt µs, median decrypt µs.

func readAll(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { fatalError("cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count == 0 { break }
        bytes += buffer[0..<count]
    }
    return bytes
}

func nowMicros() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) * 1e6 + Double(spec.tv_nsec) / 1e3
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

let arguments = CommandLine.arguments
guard arguments.count >= 5, let iterations = Int(arguments[3]), let compression = CompressionAlgorithm(name: arguments[4]) else {
    print("usage: openpgp-bench SECRET_KEY INPUT ITERATIONS zlib|zip|none")
    exit(64)
}
let key = try SecretKey(importing: readAll(arguments[1]))
let input = readAll(arguments[2])
if CommandLine.arguments.count > 5 {
    // Decrypt only, for profiling.
    let message = try MessageEncryptor.encrypt(input, to: [key.certificate], compression: compression)
    var times: [Double] = []
    for _ in 0..<iterations {
        let start = nowMicros()
        _ = try MessageDecryptor.decrypt(message, with: [key])
        times.append(nowMicros() - start)
    }
    print("decrypt \(Int(median(times)))")
    exit(0)
}
var encryptTimes: [Double] = []
var decryptTimes: [Double] = []
var message: [UInt8] = []
for _ in 0..<iterations {
    let start = nowMicros()
    message = try MessageEncryptor.encrypt(input, to: [key.certificate], compression: compression)
    let middle = nowMicros()
    let opened = try MessageDecryptor.decrypt(message, with: [key])
    let end = nowMicros()
    precondition(opened.data.count == input.count)
    encryptTimes.append(middle - start)
    decryptTimes.append(end - middle)
}
print("\(input.count) \(message.count) \(Int(median(encryptTimes))) \(Int(median(decryptTimes)))")
