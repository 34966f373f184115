import Foundation
import Vapor

/// The machine API's description (OpenAPI 3.1), served as written in `Resources/openapi.json`:
/// what the console speaks. `OpenAPITests` checks it against the routes, both ways.
struct OpenAPIController: Sendable {
    let document: ByteBuffer

    init() throws {
        document = try PortalController.load("Resources/openapi", extension: "json")
    }

    func register(_ routes: any RoutesBuilder) {
        routes.get("openapi.json") { _ in
            var headers = HTTPHeaders()
            headers.contentType = .json
            return Response(status: .ok, headers: headers, body: .init(buffer: document))
        }
    }
}
