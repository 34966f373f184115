import Foundation
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

/// The machine API has its OpenAPI 3.1 document first (issue 13): served by the service, and
/// checked route by route against what the service really answers.
@Suite("OpenAPI document of the machine API")
struct OpenAPITests {
    static func document(_ app: Application) async throws -> [String: Any] {
        var document: [String: Any] = [:]
        try await app.testing().test(
            .GET, "api/v1/openapi.json",
            afterResponse: { response in
                #expect(response.status == .ok)
                #expect(response.headers.contentType == .json)
                document = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            })
        return document
    }

    /// `/api/v1/uploads/{uploadID}` and a route's `api/v1/uploads/:uploadID` name the same path.
    static func matches(_ route: Route, _ path: String) -> Bool {
        let documented = path.split(separator: "/").map(String.init)
        return route.path.count == documented.count
            && zip(route.path, documented).allSatisfy { component, segment in
                switch component {
                case .constant(let value): value == segment
                case .parameter(let name): segment == "{\(name)}"
                default: false
                }
            }
    }

    @Test("every documented operation is a route, and every machine route is documented")
    func routeByRoute() async throws {
        try await withTestApp { app, _ in
            let document = try await Self.document(app)
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var operations = 0
            for (path, methods) in paths {
                for method in methods.keys {
                    operations += 1
                    #expect(
                        app.routes.all.contains { $0.method.rawValue == method.uppercased() && Self.matches($0, path) },
                        "\(method.uppercased()) \(path) is documented but not served")
                }
            }
            #expect(operations >= 7)
            let machineRoutes = app.routes.all.filter { route in
                let path = route.path.map(\.description).joined(separator: "/")
                return path.hasPrefix("api/v1/console") || path.hasPrefix("api/v1/uploads") || path == "console-bundle.json"
                    || path == "assay-console-linux-x86_64.tar.gz"
            }
            #expect(machineRoutes.count >= 7)
            for route in machineRoutes {
                let documented = paths.contains { path, methods in Self.matches(route, path) && methods[route.method.rawValue.lowercased()] != nil }
                #expect(documented, "\(route.method.rawValue) /\(route.path.map(\.description).joined(separator: "/")) is served but not documented")
            }
        }
    }

    @Test("every reference in the document resolves")
    func referencesResolve() async throws {
        try await withTestApp { app, _ in
            let document = try await Self.document(app)
            let text = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
            let components = try #require(document["components"] as? [String: [String: Any]])
            let references = text.components(separatedBy: "\"$ref\":\"").dropFirst().map { $0.prefix { $0 != "\"" } }
            #expect(!references.isEmpty)
            for reference in references {
                let parts = reference.replacingOccurrences(of: "\\/", with: "/").split(separator: "/")
                #expect(parts.count == 4 && parts[0] == "#" && parts[1] == "components", "\(reference)")
                guard parts.count == 4 else { continue }
                #expect(components[String(parts[2])]?[String(parts[3])] != nil, "\(reference) does not resolve")
            }
        }
    }
}
