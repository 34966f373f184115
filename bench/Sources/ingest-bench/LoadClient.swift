import Foundation
import Synchronization

// A load generator as light as the service it measures: one blocking keep-alive HTTP/1.1
// connection per thread, requests written whole with one send, responses read by Content-Length.
// URLSession cost the client ~1.5–2 ms of CPU per upload on this machine, CPU the server under test
// shares (2 cores): this costs a few tens of microseconds.
#if canImport(Glibc)
    import Glibc
#endif

struct LoadResponse {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
}

enum LoadClientError: Error, CustomStringConvertible {
    case connect(Int32)
    case closed
    case malformed(String)

    var description: String {
        switch self {
        case .connect(let code): "cannot connect (errno \(code))"
        case .closed: "the server closed the connection"
        case .malformed(let what): "malformed response: \(what)"
        }
    }
}

/// One connection to 127.0.0.1:port; not shared between threads.
final class LoadConnection {
    private let socket: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw LoadClientError.connect(errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(socket)
            throw LoadClientError.connect(code)
        }
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(socket) }

    func send(method: String, path: String, headers: [(String, String)], body: [UInt8]) throws -> LoadResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        var sent = 0
        while sent < request.count {
            let count = request.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw LoadClientError.closed }
            sent += count
        }
        return try readResponse()
    }

    private func readResponse() throws -> LoadResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = buffer.firstRange(of: separator)?.upperBound
            if headerEnd == nil { try fill() }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "), let status = Int(statusLine.dropFirst(9).prefix(3)) else {
            throw LoadClientError.malformed(String(head.prefix(40)))
        }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let length = headers.first { $0.0 == "content-length" }.flatMap { Int($0.1) } ?? 0
        while buffer.count < headerEnd! + length { try fill() }
        let body = Array(buffer[headerEnd!..<headerEnd! + length])
        buffer.removeFirst(headerEnd! + length)
        return LoadResponse(status: status, headers: headers, body: body)
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw LoadClientError.closed }
        buffer.append(contentsOf: chunk[..<count])
    }
}

/// Runs `work` on `threads` threads at once and waits for all of them.
func onThreads<Result: Sendable>(_ threads: Int, _ work: @escaping @Sendable (Int) -> Result) -> [Result] {
    let results = Mutex<[Result]>([])
    let group = DispatchGroup()
    for index in 0..<threads {
        group.enter()
        Thread.detachNewThread {
            let result = work(index)
            results.withLock { $0.append(result) }
            group.leave()
        }
    }
    group.wait()
    return results.withLock { $0 }
}
