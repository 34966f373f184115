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

    func challenge(attemptHash: String) async throws -> ChallengeRecord? {
        guard let row = try await SignInChallenge.query(on: database).filter(\.$attemptHash == attemptHash).first() else { return nil }
        return ChallengeRecord(
            id: try row.requireID(), userID: row.$user.id, codeHash: row.codeHash, fingerprint: row.fingerprint,
            tries: row.tries, expiresAt: row.expiresAt)
    }

    /// Counts a wrong code atomically (concurrent wrong codes all count); returns the tries now spent.
    func countWrongCode(challengeID: UUID) async throws -> Int {
        try await database.sql().raw("UPDATE \(ident: SignInChallenge.schema) SET tries = tries + 1 WHERE id = \(bind: challengeID)").run()
        return try await SignInChallenge.find(challengeID, on: database)?.tries ?? Int.max
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
