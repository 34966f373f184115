import Foundation
import Testing

@testable import Console

/// The console against the service's OpenAPI document (the machine API is written down first):
/// every call the console makes is a documented operation, sends exactly the documented fields,
/// and decodes an answer that carries only what the document requires.
@Suite("Console ↔ OpenAPI document")
struct ServiceContractTests {
    /// Read each time: `[String: Any]` cannot be a shared constant under strict concurrency.
    static var document: [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/AssayServer/Resources/openapi.json")
        guard let data = try? Data(contentsOf: url), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object
    }

    static func resolve(_ node: Any) -> [String: Any] {
        guard let object = node as? [String: Any] else { return [:] }
        guard let reference = object["$ref"] as? String else { return object }
        var current: Any = Self.document
        for part in reference.dropFirst(2).split(separator: "/") { current = (current as? [String: Any])?[String(part)] as Any }
        return resolve(current)
    }

    static func operation(_ operation: ServiceClient.Operation) -> [String: Any]? {
        ((document["paths"] as? [String: Any])?[operation.rawValue] as? [String: Any])?[operation.method] as? [String: Any]
    }

    /// A JSON object with only the schema's required fields, each a plausible value of its type.
    static func minimal(_ schema: [String: Any]) -> [String: Any] {
        let properties = schema["properties"] as? [String: Any] ?? [:]
        var object: [String: Any] = [:]
        for name in schema["required"] as? [String] ?? [] {
            let property = resolve(properties[name] as Any)
            switch (property["type"] as? String, property["format"] as? String) {
            case ("string", "date-time"): object[name] = "2026-12-03T10:00:00Z"
            case ("string", "uuid"): object[name] = UUID().uuidString.lowercased()
            case ("integer", _): object[name] = 1
            default: object[name] = (property["enum"] as? [String])?.first ?? (property["const"] as? String) ?? "x"
            }
        }
        return object
    }

    @Test("every operation the console calls is documented, with the fields it sends", arguments: ServiceClient.Operation.allCases)
    func documented(_ call: ServiceClient.Operation) throws {
        let operation = try #require(Self.operation(call), "\(call.method.uppercased()) \(call.rawValue) is not in the OpenAPI document")
        guard let fields = call.fields else { return }
        let body = ((operation["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any]
        let schema = Self.resolve(body?["schema"] as Any)
        let documented = Set((schema["properties"] as? [String: Any] ?? [:]).keys)
        let required = Set(schema["required"] as? [String] ?? [])
        #expect(fields.isSubset(of: documented), "\(call) sends \(fields.subtracting(documented)) that the document does not name")
        #expect(required.isSubset(of: fields), "\(call) leaves out required \(required.subtracting(fields))")
    }

    @Test("the answers the console reads need nothing the document does not promise")
    func answers() throws {
        func schema(_ call: ServiceClient.Operation, _ status: String) throws -> [String: Any] {
            let responses = try #require(Self.operation(call)?["responses"] as? [String: Any])
            let response = Self.resolve(responses[status] as Any)
            return Self.resolve(((response["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as Any)
        }
        let decoder = JSONDecoder.console
        for (call, status) in [(ServiceClient.Operation.signIn, "200"), (.code, "200"), (.token, "200")] {
            let minimal = try JSONSerialization.data(withJSONObject: Self.minimal(try schema(call, status)))
            #expect(throws: Never.self, "\(call) \(status)") { try decoder.decode(ServiceClient.Credentials.self, from: minimal) }
        }
        for (call, status) in [(ServiceClient.Operation.upload, "202"), (.upload, "200"), (.uploadState, "200")] {
            let minimal = try JSONSerialization.data(withJSONObject: Self.minimal(try schema(call, status)))
            #expect(throws: Never.self, "\(call) \(status)") { try decoder.decode(ServiceClient.UploadState.self, from: minimal) }
        }
        let sent = try JSONSerialization.data(withJSONObject: Self.minimal(try schema(.signIn, "202")))
        #expect((try JSONSerialization.jsonObject(with: sent) as? [String: Any])?["attempt"] != nil, "a code-sent answer carries the attempt")
        // 429 and 503 carry Retry-After, which the uploader waits out
        let retry = Self.resolve((Self.operation(.upload)?["responses"] as? [String: Any])?["429"] as Any)
        #expect((retry["headers"] as? [String: Any])?["Retry-After"] != nil)
    }
}
