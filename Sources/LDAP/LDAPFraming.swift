import NIOCore
import Synchronization

/// Cuts the byte stream into whole LDAPMessages (RFC 4511 §5.1: one BER element each, with a
/// definite length), refusing any message over `maxMessageBytes` before buffering it.
struct LDAPMessageDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]
    let maxMessageBytes: Int
    let gate: StartTLSGate

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        // RFC 4511 §4.14.2 / RFC 4513 §3.1.1: after the StartTLS answer the next bytes belong to
        // the TLS handshake. Anything already here arrived in clear and could be a forged answer
        // to the bind and search still to come.
        if gate.isSealed, buffer.readableBytes > 0 {
            gate.recordViolation()
            throw LDAPError.plaintextAfterStartTLS
        }
        guard let total = try Self.frameLength(buffer, limit: maxMessageBytes) else { return .needMoreData }
        guard buffer.readableBytes >= total, let message = buffer.readBytes(length: total) else { return .needMoreData }
        gate.messageDecoded()
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// The whole element's length (header included), or nil while the header is incomplete.
    static func frameLength(_ buffer: ByteBuffer, limit: Int) throws -> Int? {
        guard buffer.readableBytes >= 2, let tag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let first = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)
        else { return nil }
        guard tag == 0x30 else { throw LDAPError.protocolViolation("a message does not start with a SEQUENCE tag") }
        if first & 0x80 == 0 { return 2 + Int(first) }
        let lengthBytes = Int(first & 0x7F)
        // 0x80 is BER's indefinite length, which RFC 4511 §5.1 forbids.
        guard (1...4).contains(lengthBytes) else { throw LDAPError.protocolViolation("a message length of \(lengthBytes) bytes") }
        guard buffer.readableBytes >= 2 + lengthBytes, let bytes = buffer.getBytes(at: buffer.readerIndex + 2, length: lengthBytes) else { return nil }
        let length = bytes.reduce(0) { $0 << 8 | Int($1) }
        guard length <= limit else { throw LDAPError.messageTooLarge(limit: limit) }
        return 2 + lengthBytes + length
    }
}

/// Where a StartTLS exchange stands, shared by the client (on its task) and the decoder (on the
/// event loop). Armed when the request goes out, sealed by the one message that answers it, opened
/// again only once TLS is in the pipeline: in between, a single byte is a violation.
final class StartTLSGate: Sendable {
    enum State { case open, armed, sealed }
    private let state = Mutex<(state: State, violated: Bool)>((.open, false))

    var isSealed: Bool { state.withLock { $0.state == .sealed } }
    var wasViolated: Bool { state.withLock { $0.violated } }

    func arm() { state.withLock { $0.state = .armed } }
    func messageDecoded() { state.withLock { if $0.state == .armed { $0.state = .sealed } } }
    func recordViolation() { state.withLock { $0.violated = true } }
    func open() { state.withLock { $0.state = .open } }
}

/// Hands each message to the client's stream; the first error or the end of the connection
/// finishes it.
final class LDAPMessageForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = [UInt8]
    let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation

    init(continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}
