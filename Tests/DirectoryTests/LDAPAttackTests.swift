import Testing

@testable import LDAP

/// Issue 17, points 1 and 4: a directory (or a man in the middle) that lies. Each test was seen
/// failing without its fix.
@Suite("LDAP client against a hostile directory")
struct LDAPAttackTests {
    static let filter = SearchFilter.present("objectClass")

    @Test("answers pipelined behind the StartTLS reply, in clear, are refused before TLS and before any bind")
    func plaintextAfterStartTLS() async throws {
        // given: a directory that agrees to StartTLS and, in the same write, forges the bind's and
        // the search's answers (message ids 2 and 3), with a device list of its choosing
        let directory = try await ScriptedDirectory { request in
            guard request.operation == 23 else { return [] }
            return ScriptedDirectory.startTLSDone(id: request.id) + ScriptedDirectory.bindDone(id: request.id + 1)
                + ScriptedDirectory.entry(id: request.id + 2, host: "attacker.evil.test")
                + ScriptedDirectory.searchDone(id: request.id + 2, cookie: [])
        }
        defer { Task { await directory.stop() } }
        // when / then
        await #expect(throws: LDAPError.plaintextAfterStartTLS) {
            let client = try await LDAPClient.connect(
                to: LDAPServer(host: "127.0.0.1", port: directory.port, security: .startTLS), timeout: .seconds(5))
            // Without the check the forged answers are read and the search "succeeds"; the close
            // then waits on a handshake that never comes, so it is not awaited here.
            defer { Task { await client.close() } }
            try await client.bind(dn: "cn=reader,dc=acme,dc=test", password: "secret")
            _ = try await client.search(base: "dc=acme,dc=test", filter: Self.filter, attributes: ["dNSHostName"])
        }
        // Only the StartTLS request went out: no password, no search.
        #expect(directory.received.map(\.operation) == [23])
        await directory.stop()
    }

    static func pagingForever(cookie: @escaping @Sendable (Int) -> [UInt8], entriesPerPage: Int = 0, padding: Int = 0) async throws -> ScriptedDirectory {
        try await ScriptedDirectory { request in
            guard request.operation == 3 else { return [] }
            var answer: [UInt8] = []
            for index in 0..<entriesPerPage { answer += ScriptedDirectory.entry(id: request.id, host: "h\(request.id)-\(index).acme.test", padding: padding) }
            return answer + ScriptedDirectory.searchDone(id: request.id, cookie: cookie(request.id))
        }
    }

    static func search(_ directory: ScriptedDirectory, budget: LDAPClient.SearchBudget) async throws -> [LDAPEntry] {
        let client = try await LDAPClient.connect(to: LDAPServer(host: "127.0.0.1", port: directory.port, security: .plain), timeout: .seconds(5))
        defer { Task { await client.close() } }
        return try await client.search(base: "dc=acme,dc=test", filter: Self.filter, attributes: ["dNSHostName"], pageSize: 10, budget: budget)
    }

    @Test("empty pages with a fresh cookie each time stop at the page bound, with a clear error")
    func emptyPagesForever() async throws {
        let directory = try await Self.pagingForever { id in Array("page-\(id)".utf8) }
        var budget = LDAPClient.SearchBudget()
        budget.maxPages = 40
        await #expect(throws: LDAPError.searchDidNotEnd("more than 40 pages")) { try await Self.search(directory, budget: budget) }
        #expect(directory.received.count == 40)
        await directory.stop()
    }

    @Test("the same cookie twice ends the search")
    func repeatedCookie() async throws {
        let directory = try await Self.pagingForever(cookie: { _ in Array("stuck".utf8) }, entriesPerPage: 1)
        await #expect(throws: LDAPError.searchDidNotEnd("the directory sent the same page cookie twice")) {
            try await Self.search(directory, budget: LDAPClient.SearchBudget())
        }
        #expect(directory.received.count == 2)
        await directory.stop()
    }

    @Test("an overall deadline and a byte budget end a search that keeps going")
    func deadlineAndBytes() async throws {
        let directory = try await Self.pagingForever(cookie: { id in Array("page-\(id)".utf8) }, entriesPerPage: 1)
        var budget = LDAPClient.SearchBudget()
        budget.deadline = .milliseconds(300)
        await #expect {
            try await Self.search(directory, budget: budget)
        } throws: { error in
            guard case .searchDidNotEnd(let why) = error as? LDAPError else { return false }
            return why.hasPrefix("still ")
        }
        await directory.stop()

        let heavy = try await Self.pagingForever(cookie: { id in Array("page-\(id)".utf8) }, entriesPerPage: 4, padding: 100_000)
        budget = LDAPClient.SearchBudget()
        budget.maxBytes = 1 << 20
        await #expect(throws: LDAPError.searchDidNotEnd("more than 1 MiB")) { try await Self.search(heavy, budget: budget) }
        #expect(heavy.received.count <= 4)
        await heavy.stop()
    }

    @Test("a directory that pages properly is read to the end")
    func pagesEnd() async throws {
        let directory = try await Self.pagingForever(cookie: { id in id < 4 ? Array("page-\(id)".utf8) : [] }, entriesPerPage: 3)
        let entries = try await Self.search(directory, budget: LDAPClient.SearchBudget())
        #expect(entries.count == 12)
        await directory.stop()
    }
}
