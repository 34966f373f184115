import NIOCore
import NIOPosix
import SwiftASN1
import Synchronization

@testable import LDAP

/// A hostile directory on loopback: reads each LDAP request and answers with whatever its script
/// says, all in one write (so that pipelined bytes arrive together, as a man in the middle would
/// send them). A fake beside the real thing: the client against slapd is in
/// Integration/console/test_discovery.py.
final class ScriptedDirectory: Sendable {
    /// A request as the script sees it: its message id and its operation's application tag.
    struct Request: Sendable {
        let id: Int
        let operation: UInt
        let bytes: [UInt8]
    }

    typealias Script = @Sendable (Request) -> [UInt8]

    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(script: @escaping Script) async throws {
        let box = RequestLog()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(Handler(script: script, log: box)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        log = box
    }

    private let log: RequestLog

    var received: [Request] { log.requests.withLock { $0 } }

    func stop() async { try? await channel.close() }

    final class RequestLog: Sendable {
        let requests = Mutex<[Request]>([])
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let script: Script
        let log: RequestLog
        var pending = ByteBuffer()

        init(script: @escaping Script, log: RequestLog) {
            self.script = script
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            pending.writeBuffer(&incoming)
            while let length = try? LDAPMessageDecoder.frameLength(pending, limit: 1 << 20), pending.readableBytes >= length,
                let bytes = pending.readBytes(length: length)
            {
                guard let request = Self.parse(bytes) else {
                    context.close(promise: nil)
                    return
                }
                log.requests.withLock { $0.append(request) }
                let answer = script(request)
                if !answer.isEmpty { context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: answer)), promise: nil) }
            }
        }

        typealias OutboundOut = ByteBuffer

        static func parse(_ bytes: [UInt8]) -> Request? {
            guard let root = try? BER.parse(bytes), case .constructed(let children) = root.content else { return nil }
            var nodes = children.makeIterator()
            guard let idNode = nodes.next(), let id = LDAPProtocol.integer(idNode), let operation = nodes.next() else { return nil }
            return Request(id: id, operation: operation.identifier.tagNumber, bytes: bytes)
        }
    }

    // MARK: answers

    static func result(id: Int, operation: UInt, code: Int = 0, controls: [LDAPProtocol.Control] = []) -> [UInt8] {
        try! LDAPProtocol.message(id: id, controls: controls) { message in
            try message.appendConstructedNode(identifier: LDAPProtocol.application(operation)) { result in
                LDAPProtocol.enumerated(code, into: &result)
                LDAPProtocol.octets([], into: &result)
                LDAPProtocol.octets([], into: &result)
            }
        }
    }

    static func bindDone(id: Int) -> [UInt8] { result(id: id, operation: 1) }
    static func startTLSDone(id: Int) -> [UInt8] { result(id: id, operation: 24) }

    /// SearchResultDone with the paged results control carrying `cookie`.
    static func searchDone(id: Int, cookie: [UInt8]) -> [UInt8] {
        var value = DER.Serializer()
        try! value.appendConstructedNode(identifier: .sequence) { sequence in
            try sequence.serialize(0)
            LDAPProtocol.octets(cookie, into: &sequence)
        }
        return result(id: id, operation: 5, controls: [LDAPProtocol.Control(oid: LDAPProtocol.pagedResultsOID, critical: false, value: value.serializedBytes)])
    }

    static func entry(id: Int, host: String, os: String = "Ubuntu 24.04", padding: Int = 0) -> [UInt8] {
        try! LDAPProtocol.message(id: id) { message in
            try message.appendConstructedNode(identifier: LDAPProtocol.application(4)) { entry in
                LDAPProtocol.octets(Array("cn=\(host),ou=Servers".utf8), into: &entry)
                try entry.appendConstructedNode(identifier: .sequence) { list in
                    for (name, value) in [("dNSHostName", host), ("operatingSystem", os), ("description", String(repeating: "x", count: padding))] {
                        try list.appendConstructedNode(identifier: .sequence) { attribute in
                            LDAPProtocol.octets(Array(name.utf8), into: &attribute)
                            try attribute.appendConstructedNode(identifier: .set) { LDAPProtocol.octets(Array(value.utf8), into: &$0) }
                        }
                    }
                }
            }
        }
    }
}
