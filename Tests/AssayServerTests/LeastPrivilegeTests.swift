import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

@Suite("PostgreSQL least privilege (SEC-6)")
struct LeastPrivilegeTests {
    @Test(
        "the service's role works, cannot rewrite or delete audit events, cannot change the schema or the migration ledger",
        .enabled(if: CatalogBackend.testable.contains(.postgres)))
    func serviceRole() async throws {
        let adminURL = try #require(ProcessInfo.processInfo.environment["ASSAY_TEST_POSTGRES_URL"])
        let role = "assay_app_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        try runPSQL(adminURL, "CREATE ROLE \(role) LOGIN")
        defer { try? runPSQL(adminURL, "DROP ROLE IF EXISTS \(role)") }
        try await withTestApp(.postgres) { app, configuration in
            let sql = try #require(app.db as? any SQLDatabase)
            try await CatalogGrants.apply(role: role, on: sql)
            let catalogURL = try #require(configuration.databaseURL)
            var components = try #require(URLComponents(string: catalogURL))
            components.user = role
            let roleURL = try #require(components.string)

            // The service does its work as that role: a tenant, an invitation, audit events, and the chain verifies.
            var asRole = configuration
            asRole.databaseURL = roleURL
            try await withApp { roleApp in
                try await configure(roleApp, configuration: asRole, hasher: PasswordHasher(iterations: 1000))
                let tenants = TenantService(catalog: Catalog(roleApp.db), configuration: asRole, mailer: MemoryMailer(), emailPolicy: try EmailPolicy.bundled())
                _ = try await tenants.create(name: "Acme", region: "eu-west", adminEmail: "jane.doe@acme.example")
                let verified = try await Catalog(roleApp.db).audit.verify()
                #expect(verified.count >= 1 && verified.break == nil)
            }

            // …and nothing beyond it.
            #expect(try runPSQLSucceeds(roleURL, "SELECT count(*) FROM audit_events"))
            #expect(try !runPSQLSucceeds(roleURL, "UPDATE audit_events SET detail = 'rewritten'"), "audit events must not be rewritable")
            #expect(try !runPSQLSucceeds(roleURL, "DELETE FROM audit_events"), "audit events must not be deletable")
            #expect(try !runPSQLSucceeds(roleURL, "TRUNCATE audit_events"))
            #expect(try !runPSQLSucceeds(roleURL, "DROP TABLE users"), "the schema belongs to the owner")
            #expect(try !runPSQLSucceeds(roleURL, "ALTER TABLE users ADD COLUMN x text"))
            #expect(try !runPSQLSucceeds(roleURL, "CREATE TABLE scratch (x int)"))
            #expect(try !runPSQLSucceeds(roleURL, "DELETE FROM _fluent_migrations"), "the migration ledger is the owner's")

            // A tenant's own database admits its owner only: another role on the server cannot even connect.
            let fixture = try await UploadFixture.make(app, configuration, name: "Globex", email: "hank.scorpio@globex.example")
            _ = try await fixture.tenantDatabase(app)
            let regionURL = try #require(configuration.regions.first { $0.databaseURL != nil }?.databaseURL)
            var tenantURL = try #require(URLComponents(string: regionURL))
            tenantURL.path = "/" + TenantDatabases.databaseName(TenantID(fixture.tenantID))
            let asOwner = try #require(tenantURL.string)
            #expect(try runPSQLSucceeds(asOwner, "SELECT count(*) FROM devices"))
            tenantURL.user = role
            let asOther = try #require(tenantURL.string)
            #expect(try !runPSQLSucceeds(asOther, "SELECT 1"), "another role must not connect to a tenant database")

            // A database left created but never closed to others (a process killed between CREATE
            // and REVOKE) is closed when the service opens it.
            let interrupted = try await UploadFixture.make(app, configuration, name: "Initech", email: "bill.lumbergh@initech.example")
            let interruptedName = TenantDatabases.databaseName(TenantID(interrupted.tenantID))
            try runPSQL(regionURL, "CREATE DATABASE \(interruptedName)")
            tenantURL.path = "/" + interruptedName
            let asOtherBefore = try #require(tenantURL.string)
            #expect(try runPSQLSucceeds(asOtherBefore, "SELECT 1"), "PostgreSQL's default lets every role connect: the case this covers")
            _ = try await interrupted.tenantDatabase(app)
            #expect(try !runPSQLSucceeds(asOtherBefore, "SELECT 1"), "a tenant database created before an interruption stays open to other roles")
        }
        #expect(throws: CatalogGrants.InvalidRole.self) { try CatalogGrants.statements(role: "app\"; DROP TABLE users; --") }
    }
}
