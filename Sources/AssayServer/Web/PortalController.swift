import Foundation
import NIOFoundationEssentialsCompat
import Vapor

/// The portal's pages: static HTML and one script from the server's resources, which call the
/// JSON API. Only the files listed here are served: no path from the request reaches the disk.
struct PortalController: Sendable {
    static let pages = ["register", "signin", "code"]
    static let assets = ["app.js": "application/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"]

    let files: [String: ByteBuffer]

    init() throws {
        var files: [String: ByteBuffer] = [:]
        for page in Self.pages {
            files[page] = try Self.load("Resources/Public/\(page)", extension: "html")
        }
        for asset in Self.assets.keys {
            let parts = asset.split(separator: ".")
            files[asset] = try Self.load("Resources/Public/assets/\(parts[0])", extension: String(parts[1]))
        }
        self.files = files
    }

    static func load(_ name: String, extension ext: String) throws -> ByteBuffer {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext) else {
            throw DataFile.DataFileError.missing("\(name).\(ext)")
        }
        return ByteBuffer(data: try Data(contentsOf: url))
    }

    func register(_ app: Application) {
        app.get { request in request.redirect(to: "/dashboard") }
        // Every form posts here when the portal's script did not run (blocked or failed to load):
        // the fields go in a POST body, never in a URL, and are dropped unread.
        app.on(.POST, "needs-script", body: .stream) { _ in Self.needsScript() }
        for page in Self.pages {
            app.get(PathComponent(stringLiteral: page)) { _ in respond(page, type: "text/html; charset=utf-8") }
        }
        for (asset, type) in Self.assets {
            app.get("assets", PathComponent(stringLiteral: asset)) { _ in respond(asset, type: type) }
        }
    }

    static func needsScript() -> Response {
        var headers = HTTPHeaders()
        headers.contentType = .html
        let page = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Assay needs JavaScript</title>
            <link rel="stylesheet" href="/assets/app.css"></head><body><main>
            <h1>This page needs JavaScript</h1>
            <p id="needs-script">Your browser did not run the portal's script, so nothing was sent or changed. Allow
            scripts from this site (the portal runs only its own script, /assets/app.js) and try again.</p>
            <p><a href="/dashboard">Back to Assay</a></p></main></body></html>
            """
        return Response(status: .ok, headers: headers, body: .init(string: page))
    }

    private func respond(_ key: String, type: String) -> Response {
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(
            type: String(type.split(separator: "/")[0]), subType: String(type.split(separator: "/")[1].split(separator: ";")[0]),
            parameters: ["charset": "utf-8"])
        return Response(status: .ok, headers: headers, body: .init(buffer: files[key] ?? ByteBuffer()))
    }
}
