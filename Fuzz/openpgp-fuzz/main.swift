import OpenPGP

#if canImport(Glibc)
    import Glibc
#endif

/// libFuzzer entry point for every parser that reads outside input: messages, keys and armor.
/// The secret key comes from $ASSAY_FUZZ_KEY (made by scripts/fuzz-openpgp.sh), so that seeds
/// encrypted to it reach the decryption and decompression code.
private let fuzzKey: SecretKey? = {
    guard let path = getenv("ASSAY_FUZZ_KEY"), let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count == 0 { break }
        bytes += buffer[0..<count]
    }
    return try? SecretKey(importing: bytes)
}()

private let limits: DecryptionLimits = {
    var limits = DecryptionLimits()
    limits.maxPlaintextBytes = 4 << 20
    limits.maxMessageBytes = 4 << 20
    return limits
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let fuzzKey {
        _ = try? MessageDecryptor.decrypt(bytes, with: [fuzzKey], limits: limits)
    }
    _ = try? Certificate(importing: bytes)
    // No passphrase: a protected key stops before the (deliberately slow) S2K.
    _ = try? SecretKey(importing: bytes)
    _ = try? Armor.decode(bytes)
    return 0
}
