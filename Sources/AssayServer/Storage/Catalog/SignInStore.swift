import FluentKit
import Foundation
import SQLKit

/// A pending second step of a sign-in (AUTH-6).
struct ChallengeRecord: Sendable {
    let id: UUID
    let userID: UUID
    let codeHash: String
    let fingerprint: String
    let tries: Int
    let expiresAt: Date
}

/// Sign-in challenges (the e-mailed 7-digit codes) and the system fingerprints a user confirmed.
struct SignInStore: Sendable {
    let database: any Database

    func createChallenge(userID: UUID, attemptHash: String, codeHash: String, fingerprint: String, expiresAt: Date) async throws {
        try await SignInChallenge(userID: userID, attemptHash: attemptHash, codeHash: codeHash, fingerprint: fingerprint, expiresAt: expiresAt)
            .create(on: database)
    }

    /// AUTH-6: spends one try of the attempt before anything is compared, in one conditional
    /// statement: of any number of guesses sent at once, at most `maxTries` get a challenge back.
    /// Nil when the attempt is unknown, expired or out of tries.
    func spendTry(attemptHash: String, maxTries: Int, at time: Date) async throws -> ChallengeRecord? {
        guard
            let row = try await database.sql().raw(
                """
                UPDATE \(ident: SignInChallenge.schema) SET tries = tries + 1
                WHERE attempt_hash = \(bind: attemptHash) AND tries < \(bind: maxTries) AND expires_at > \(bind: time)
                RETURNING id, user_id, code_hash, fingerprint, tries, expires_at
                """
            ).first()
        else { return nil }
        return ChallengeRecord(
            id: try row.decode(column: "id", as: UUID.self), userID: try row.decode(column: "user_id", as: UUID.self),
            codeHash: try row.decode(column: "code_hash", as: String.self), fingerprint: try row.decode(column: "fingerprint", as: String.self),
            tries: try row.decode(column: "tries", as: Int.self), expiresAt: try row.decode(column: "expires_at", as: Date.self))
    }

    /// Single use even under concurrent submissions: only one DELETE finds the row.
    func consume(challengeID: UUID) async throws -> Bool {
        let deleted = try await database.sql().raw("DELETE FROM \(ident: SignInChallenge.schema) WHERE id = \(bind: challengeID) RETURNING id").all()
        return deleted.count == 1
    }

    func isKnown(fingerprint digest: String, of userID: UUID) async throws -> Bool {
        try await KnownFingerprint.query(on: database).filter(\.$user.$id == userID).filter(\.$digest == digest).first() != nil
    }

    func remember(fingerprint digest: String, of userID: UUID, at time: Date) async throws {
        guard try await !isKnown(fingerprint: digest, of: userID) else { return }
        try await KnownFingerprint(userID: userID, digest: digest, verifiedAt: time).create(on: database)
    }
}
