import Foundation
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

/// Forms without script (issue 12): a page whose script did not load must never send a password
/// in a URL. Every form posts; its fallback target says the page needs JavaScript.
@Suite("Portal forms work, or say so, without script")
struct PortalFormsTests {
    static let resources = repositoryRoot.appendingPathComponent("Sources/AssayServer/Resources")

    @Test("every form of every page and template posts, to a target that exists")
    func everyFormPosts() throws {
        var forms = 0
        for folder in ["Views", "Public"] {
            let directory = Self.resources.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".leaf") || name.hasSuffix(".html") {
                let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
                for tag in text.components(separatedBy: "<form").dropFirst().map({ $0.prefix { $0 != ">" } }) {
                    forms += 1
                    #expect(tag.contains(#"method="post""#), "a form in \(name) has no method=\"post\": without script it would send its fields in the URL")
                    #expect(tag.contains(#"action="/needs-script""#), "a form in \(name) has no fallback action")
                }
            }
        }
        #expect(forms >= 10, "the scan found only \(forms) forms")
    }

    @Test("the fallback target answers that the page needs JavaScript and drops what was posted")
    func fallback() async throws {
        try await withTestApp { app, configuration in
            try await app.testing().test(
                .POST, "needs-script", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                beforeRequest: { request in request.body = ByteBuffer(string: "email=jane%40acme.example&password=Tr0ub4dor") },
                afterResponse: { response in
                    #expect(response.status == .ok)
                    #expect(response.body.string.contains("needs JavaScript"))
                    #expect(!response.body.string.contains("Tr0ub4dor") && !response.body.string.contains("jane"))
                })
        }
    }
}
