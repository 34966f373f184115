import Testing

@testable import AssayServer

@Suite("Identity rules (AUTH-1, AUTH-4, AUTH-5)")
struct IdentityRulesTests {
    let policy = try! EmailPolicy.bundled()

    @Test(
        "public mail providers are refused, including wildcard families",
        arguments: [
            "jane@gmail.com", "jane@outlook.com", "jane@hotmail.co.uk", "jane@yahoo.fr", "jane@yahoo.co.jp", "jane@gmx.de",
            "jane@proton.me", "jane@protonmail.com", "jane@mail.ru", "jane@yandex.ru", "jane@qq.com", "jane@icloud.com", "JANE@GMAIL.COM",
        ])
    func publicProviders(address: String) {
        #expect(throws: EmailPolicy.Rejection.self) { try policy.validate(address) }
        do { _ = try policy.validate(address) } catch { if case .publicProvider = error {} else { Issue.record("\(address): \(error)") } }
    }

    @Test("role and generic addresses are refused", arguments: ["admin@example.com", "info@example.com", "support+x@example.com", "noreply@example.com"])
    func roleAddresses(address: String) {
        do {
            _ = try policy.validate(address)
            Issue.record("\(address) was accepted")
        } catch {
            guard case .roleAddress = error else {
                Issue.record("\(address): \(error)")
                return
            }
        }
    }

    @Test("work addresses are accepted and normalized to lower case")
    func workAddresses() throws {
        #expect(try policy.validate("  Jane.Doe@Example.COM ") == "jane.doe@example.com")
        #expect(try policy.validate("j.o'neil+assay@corp.example.co.uk") == "j.o'neil+assay@corp.example.co.uk")
        #expect(try policy.validate("it-ops.lead@yahoo.example.com") == "it-ops.lead@yahoo.example.com")
    }

    @Test(
        "malformed addresses are refused",
        arguments: [
            "", "jane", "jane@", "@example.com", "jane@@example.com", "jane@example", "ja ne@example.com",
            "jane@exa_mple.com", "jane@-example.com", ".jane@example.com", "jane..doe@example.com", "jane@example.123",
            "jane@example.com\r\nBcc: x@y.z",
        ])
    func malformed(address: String) {
        #expect(throws: EmailPolicy.Rejection.malformed) { try policy.validate(address) }
    }

    @Test("each password rule is enforced, Unicode and long passphrases are fine")
    func passwordRules() {
        #expect(PasswordPolicy.violations("Ab1!", email: nil) == [.tooShort])
        #expect(PasswordPolicy.violations("ABCDEFG1!", email: nil) == [.noLowercase])
        #expect(PasswordPolicy.violations("abcdefg1!", email: nil) == [.noUppercase])
        #expect(PasswordPolicy.violations("Abcdefgh!", email: nil) == [.noDigit])
        #expect(PasswordPolicy.violations("Abcdefgh1", email: nil) == [.noSymbol])
        #expect(PasswordPolicy.violations("Jane.doe-2026!", email: "jane.doe@example.com") == [.containsEmail])
        #expect(PasswordPolicy.violations(String(repeating: "Aa1!", count: 65), email: nil) == [.tooLong])
        #expect(PasswordPolicy.violations("Zürich-Straße 9 ist schön", email: nil).isEmpty)
        #expect(PasswordPolicy.violations("Correct Horse Battery Staple 2026", email: nil).isEmpty)
        #expect(PasswordPolicy.violations(String(repeating: "Passphrase 1 ", count: 9), email: nil).isEmpty)  // 117 characters
    }

    @Test("PBKDF2 hashes are salted, self-describing, verified in constant form, and upgraded when the cost rises")
    func passwordHashing() throws {
        let old = PasswordHasher(iterations: 1000)
        let stored = try old.hash("Correct-horse-1")
        #expect(stored.hasPrefix("pbkdf2-sha256$1000$"))
        #expect(stored.split(separator: "$").count == 4)
        #expect(try old.hash("Correct-horse-1") != stored)  // a new salt every time
        #expect(old.verify("Correct-horse-1", against: stored) == .match)
        #expect(old.verify("correct-horse-1", against: stored) == .mismatch)
        let current = PasswordHasher(iterations: 2000)
        #expect(current.verify("Correct-horse-1", against: stored) == .matchNeedsRehash)
        #expect(current.verify("Correct-horse-1", against: "plain:Correct-horse-1") == .mismatch)
        #expect(current.verify("x", against: "pbkdf2-sha256$1$AAAA$AAAA") == .mismatch)  // absurd cost refused
        // Long passwords are not truncated: a different 200th character is a different password.
        let long = String(repeating: "Aa1!", count: 50)
        let longHash = try old.hash(long + "x")
        #expect(old.verify(long + "y", against: longHash) == .mismatch)
        #expect(PasswordHasher.defaultIterations >= 600_000)
    }

    @Test("secret tokens are 256-bit, prefixed, and stored only as a hash")
    func secretTokens() {
        let token = SecretToken(prefix: "asi_")
        #expect(token.value.hasPrefix("asi_"))
        #expect(token.value.count >= 4 + 43)
        #expect(token.hash.count == 64 && token.hash != token.value)
        #expect(SecretToken(prefix: "asi_").value != token.value)
        #expect(SecretToken.hash(token.value) == token.hash)
    }
}
