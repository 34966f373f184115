import Foundation
import Testing

@testable import OpenPGP

/// Interoperability with the real GnuPG (Debian's `gnupg`, installed by .ci/run): GnuPG must read
/// what Assay writes and Assay must read what GnuPG writes.
@Suite("GnuPG interoperability", .enabled(if: GnuPG.isRequiredOrInstalled, "gpg is not installed"))
struct GnuPGInteropTests {
    @Test(
        "gpg imports Assay's public and secret keys, checks their self-signatures, and decrypts Assay's messages",
        arguments: SecretKey.KeySize.allCases)
    func gpgReadsAssay(size: SecretKey.KeySize) throws {
        // given
        let key = TestKeys.key(size)
        let gpg = try GnuPG()
        let fingerprint = key.fingerprint.description

        // when: gpg imports the public key
        let importPublic = try gpg.gpg(["--import"], input: Array(key.certificate.armored.utf8))
        #expect(importPublic.stderr.contains("imported: 1"), "\(importPublic.stderr)")
        // then: every self-signature checks out ("sig!" = good signature)
        let checked = try gpg.gpg(["--with-colons", "--check-signatures", fingerprint]).text
        let signatureRecords = checked.split(separator: "\n").filter { $0.hasPrefix("sig:") }
        #expect(signatureRecords.count == 2)
        #expect(signatureRecords.allSatisfy { $0.hasPrefix("sig:!:") }, "\(checked)")
        // the key is listed with gpg's own fingerprint and key size, and marked valid once trusted
        try gpg.gpg(["--import-ownertrust"], input: Array("\(fingerprint):6:\n".utf8))
        let pub = try #require(try gpg.colonRecords("pub").first)
        #expect(pub[1] == "u", "validity of \(pub)")
        #expect(pub[2] == String(size.rawValue))
        #expect(pub[11].contains("c") && pub[11].contains("s") && pub[11].contains("E"), "capabilities \(pub[11])")
        let fpr = try #require(try gpg.colonRecords("fpr").first)
        #expect(fpr[9] == fingerprint)
        let sub = try #require(try gpg.colonRecords("sub").first)
        #expect(sub[1] == "u" && sub[11] == "e", "\(sub)")

        // when: gpg imports the secret key (protected by a passphrase) and decrypts Assay's messages
        let importSecret = try gpg.gpg(["--passphrase", "s3cret pass", "--import"], input: Array(try key.armored(passphrase: "s3cret pass").utf8))
        #expect(importSecret.stderr.contains("secret keys imported: 1"), "\(importSecret.stderr)")
        for compression in CompressionAlgorithm.allCases {
            for armored in [false, true] {
                let plaintext = inventoryLikeDocument(bytes: 20_000) + [UInt8(compression.rawValue)]
                let message = try MessageEncryptor.encrypt(plaintext, to: [key.certificate], compression: compression, armored: armored)
                let decrypted = try gpg.gpg(["--verbose", "--passphrase", "s3cret pass", "--decrypt"], input: message)
                // then
                #expect(decrypted.stdout == plaintext)
                #expect(decrypted.stderr.contains("AES256"), "\(decrypted.stderr)")
                #expect(!decrypted.stderr.contains("WARNING"), "\(decrypted.stderr)")
            }
        }
    }

    @Test("Assay decrypts what gpg encrypts by default and with each compression and cipher")
    func assayReadsGnuPG() throws {
        let key = TestKeys.rsa3072
        let gpg = try GnuPG()
        try gpg.gpg(["--import"], input: Array(key.certificate.armored.utf8))
        let recipient = key.fingerprint.description
        let plaintext = inventoryLikeDocument(bytes: 120_000)
        let variants: [[String]] = [
            [],
            ["--compress-algo", "zlib"], ["--compress-algo", "zip"], ["--compress-algo", "none"],
            ["--cipher-algo", "AES"], ["--cipher-algo", "AES192"], ["--cipher-algo", "AES256"],
            ["--armor"], ["--armor", "--compress-algo", "none", "--cipher-algo", "AES"],
        ]
        for variant in variants {
            let message = try gpg.gpg(["--trust-model", "always", "--encrypt", "--recipient", recipient] + variant, input: plaintext).stdout
            let opened = try MessageDecryptor.decrypt(message, with: [key])
            #expect(opened.data == plaintext, "gpg \(variant)")
            switch variant.last {
            case "zip": #expect(opened.compression == .zip)
            case "none": #expect(opened.compression == .uncompressed)
            case "AES": #expect(opened.symmetricAlgorithm == .aes128)
            case "AES192": #expect(opened.symmetricAlgorithm == .aes192)
            default: break
            }
        }
        // gpg writing to a pipe uses partial body lengths; a 5 MB stream exercises them.
        let large = deterministicBytes(5 * 1024 * 1024, seed: 11)
        let message = try gpg.gpg(["--trust-model", "always", "--encrypt", "--recipient", recipient], input: large).stdout
        #expect(try MessageDecryptor.decrypt(message, with: [key]).data == large)
    }

    @Test("Assay imports a key that gpg generated, with and without a passphrase, and both sides decrypt each other")
    func gnupgGeneratedKey() throws {
        for passphrase in ["", "gpg pass phrase"] {
            let gpg = try GnuPG()
            try gpg.gpg(["--passphrase", passphrase, "--quick-generate-key", "Gpg Made <gpg@assay.test>", "rsa3072", "cert,sign", "never"])
            let fingerprint = try #require(try gpg.colonRecords("fpr").first)[9]
            // A primary key that only certifies cannot be encrypted to until an encryption subkey exists.
            #expect(throws: OpenPGPError.invalidKey("key \(fingerprint) has no valid encryption key")) {
                try Certificate(importing: try gpg.gpg(["--export", fingerprint]).stdout)
            }
            try gpg.gpg(["--passphrase", passphrase, "--quick-add-key", fingerprint, "rsa3072", "encr", "never"])
            let publicBlock = try gpg.gpg(["--armor", "--export", fingerprint]).stdout
            let secretBlock = try gpg.gpg(["--passphrase", passphrase, "--armor", "--export-secret-keys", fingerprint]).stdout

            let certificate = try Certificate(importing: publicBlock)
            #expect(certificate.fingerprint.description == fingerprint)
            #expect(certificate.userIDs == ["Gpg Made <gpg@assay.test>"])
            let secret = try SecretKey(importing: secretBlock, passphrase: passphrase.isEmpty ? nil : passphrase)

            // gpg → Assay
            let fromGnuPG = try gpg.gpg(["--trust-model", "always", "--encrypt", "--recipient", fingerprint], input: Array("from gpg".utf8)).stdout
            #expect(try MessageDecryptor.decrypt(fromGnuPG, with: [secret]).data == Array("from gpg".utf8))
            // Assay → gpg
            let toGnuPG = try MessageEncryptor.encrypt(Array("to gpg".utf8), to: [certificate], armored: true)
            #expect(try gpg.gpg(["--passphrase", passphrase, "--decrypt"], input: toGnuPG).stdout == Array("to gpg".utf8))
        }
    }

    @Test("a gpg key below 2048 bits is refused")
    func shortGnuPGKey() throws {
        let gpg = try GnuPG()
        try gpg.gpg(["--passphrase", "", "--quick-generate-key", "Weak <weak@assay.test>", "rsa1024", "default", "never"])
        let fingerprint = try #require(try gpg.colonRecords("fpr").first)[9]
        let publicBlock = try gpg.gpg(["--export", fingerprint]).stdout
        #expect(throws: OpenPGPError.self) { try Certificate(importing: publicBlock) }
    }

    @Test("a message for someone else's gpg key gives noMatchingKey naming that key")
    func gnupgMessageForAnotherKey() throws {
        let gpg = try GnuPG()
        try gpg.gpg(["--import"], input: Array(TestKeys.other2048.certificate.armored.utf8))
        let message = try gpg.gpg(["--trust-model", "always", "--encrypt", "--recipient", TestKeys.other2048.fingerprint.description], input: [1, 2, 3]).stdout
        #expect(throws: OpenPGPError.noMatchingKey(recipients: [TestKeys.other2048.certificate.encryptionKey.keyID])) {
            try MessageDecryptor.decrypt(message, with: [TestKeys.rsa2048])
        }
    }
}
