import SwiftASN1

/// LDAP v3 messages (RFC 4511 §4), encoded with swift-asn1. LDAP's ASN.1 module uses implicit
/// tags throughout (§4: `DEFINITIONS IMPLICIT TAGS`), so an application or context tag replaces
/// the universal one. DER output is valid BER, which is what §5.1 asks of a sender.
enum LDAPProtocol {
    static let version = 3
    static let startTLSOID = "1.3.6.1.4.1.1466.20037"
    /// RFC 2696 simple paged results.
    static let pagedResultsOID = "1.2.840.113556.1.4.319"

    enum Scope: Int {
        case base = 0
        case oneLevel = 1
        case subtree = 2
    }

    static func application(_ number: UInt) -> ASN1Identifier { ASN1Identifier(tagWithNumber: number, tagClass: .application) }
    static func context(_ number: UInt) -> ASN1Identifier { ASN1Identifier(tagWithNumber: number, tagClass: .contextSpecific) }

    struct Control {
        let oid: String
        let critical: Bool
        let value: [UInt8]?
    }

    // MARK: requests

    /// LDAPMessage (§4.1.1): message id, one operation, optional controls.
    static func message(id: Int, controls: [Control] = [], _ operation: (inout DER.Serializer) throws -> Void) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { message in
            try message.serialize(id)
            try operation(&message)
            if !controls.isEmpty {
                try message.appendConstructedNode(identifier: context(0)) { list in
                    for control in controls {
                        try list.appendConstructedNode(identifier: .sequence) { node in
                            octets(Array(control.oid.utf8), into: &node)
                            if control.critical { try node.serialize(true) }
                            if let value = control.value { octets(value, into: &node) }
                        }
                    }
                }
            }
        }
        return serializer.serializedBytes
    }

    static func octets(_ bytes: [UInt8], into serializer: inout DER.Serializer, identifier: ASN1Identifier = .octetString) {
        serializer.appendPrimitiveNode(identifier: identifier) { $0.append(contentsOf: bytes) }
    }

    static func enumerated(_ value: Int, into serializer: inout DER.Serializer) {
        serializer.appendPrimitiveNode(identifier: .enumerated) { $0.append(UInt8(value)) }
    }

    /// BindRequest (§4.2), simple authentication.
    static func bind(id: Int, dn: String, password: String) throws -> [UInt8] {
        try message(id: id) { message in
            try message.appendConstructedNode(identifier: application(0)) { bind in
                try bind.serialize(version)
                octets(Array(dn.utf8), into: &bind)
                octets(Array(password.utf8), into: &bind, identifier: context(0))
            }
        }
    }

    /// UnbindRequest (§4.3): an application-tagged NULL.
    static func unbind(id: Int) throws -> [UInt8] {
        try message(id: id) { $0.appendPrimitiveNode(identifier: application(2)) { _ in } }
    }

    /// ExtendedRequest (§4.12) for StartTLS (§4.14).
    static func startTLS(id: Int) throws -> [UInt8] {
        try message(id: id) { message in
            try message.appendConstructedNode(identifier: application(23)) { request in
                octets(Array(startTLSOID.utf8), into: &request, identifier: context(0))
            }
        }
    }

    /// SearchRequest (§4.5.1) with the paged results control (RFC 2696 §2).
    static func search(
        id: Int, base: String, scope: Scope, filter: SearchFilter, attributes: [String], pageSize: Int, cookie: [UInt8], timeLimitSeconds: Int
    ) throws -> [UInt8] {
        var pageControl = DER.Serializer()
        try pageControl.appendConstructedNode(identifier: .sequence) { value in
            try value.serialize(pageSize)
            octets(cookie, into: &value)
        }
        let controls = [Control(oid: pagedResultsOID, critical: false, value: pageControl.serializedBytes)]
        return try message(id: id, controls: controls) { message in
            try message.appendConstructedNode(identifier: application(3)) { request in
                octets(Array(base.utf8), into: &request)
                enumerated(scope.rawValue, into: &request)
                enumerated(0, into: &request)  // derefAliases: never
                try request.serialize(0)  // sizeLimit: the server's
                try request.serialize(timeLimitSeconds)
                try request.serialize(false)  // typesOnly
                try encode(filter, into: &request)
                try request.appendConstructedNode(identifier: .sequence) { list in
                    for attribute in attributes { octets(Array(attribute.utf8), into: &list) }
                }
            }
        }
    }

    /// Filter (§4.5.1.7): a CHOICE of context tags 0 to 9.
    static func encode(_ filter: SearchFilter, into serializer: inout DER.Serializer) throws {
        func assertion(_ tag: UInt, _ attribute: String, _ value: [UInt8]) throws {
            try serializer.appendConstructedNode(identifier: context(tag)) { node in
                octets(Array(attribute.utf8), into: &node)
                octets(value, into: &node)
            }
        }
        switch filter {
        case .and(let filters), .or(let filters):
            let tag: UInt = if case .and = filter { 0 } else { 1 }
            try serializer.appendConstructedNode(identifier: context(tag)) { set in
                for inner in filters { try encode(inner, into: &set) }
            }
        case .not(let inner):
            try serializer.appendConstructedNode(identifier: context(2)) { try encode(inner, into: &$0) }
        case .equal(let attribute, let value): try assertion(3, attribute, value)
        case .substrings(let attribute, let initial, let any, let final):
            try serializer.appendConstructedNode(identifier: context(4)) { node in
                octets(Array(attribute.utf8), into: &node)
                try node.appendConstructedNode(identifier: .sequence) { parts in
                    if let initial { octets(initial, into: &parts, identifier: context(0)) }
                    for middle in any { octets(middle, into: &parts, identifier: context(1)) }
                    if let final { octets(final, into: &parts, identifier: context(2)) }
                }
            }
        case .greaterOrEqual(let attribute, let value): try assertion(5, attribute, value)
        case .lessOrEqual(let attribute, let value): try assertion(6, attribute, value)
        case .present(let attribute): octets(Array(attribute.utf8), into: &serializer, identifier: context(7))
        case .approximate(let attribute, let value): try assertion(8, attribute, value)
        case .extensible(let attribute, let rule, let value, let dnAttributes):
            try serializer.appendConstructedNode(identifier: context(9)) { node in
                if let rule { octets(Array(rule.utf8), into: &node, identifier: context(1)) }
                if let attribute { octets(Array(attribute.utf8), into: &node, identifier: context(2)) }
                octets(value, into: &node, identifier: context(3))
                if dnAttributes { node.appendPrimitiveNode(identifier: context(4)) { $0.append(0xFF) } }
            }
        }
    }

    // MARK: responses

    struct Result: Equatable {
        let code: Int
        let matchedDN: String
        let message: String
    }

    enum Response {
        case bind(Result)
        case entry(LDAPEntry)
        case reference
        case searchDone(Result, pagedCookie: [UInt8]?)
        case extended(Result)
        /// An unsolicited notification (§4.4), message id 0: the server is about to close.
        case notice(Result)
    }

    static func decode(_ bytes: [UInt8]) throws(LDAPError) -> (id: Int, response: Response) {
        do {
            let root = try BER.parse(bytes)
            guard root.identifier == .sequence, case .constructed(let children) = root.content else {
                throw LDAPError.protocolViolation("a message is not a SEQUENCE")
            }
            var nodes = children.makeIterator()
            guard let idNode = nodes.next(), let id = integer(idNode), id >= 0 else { throw LDAPError.protocolViolation("no message id") }
            guard let operation = nodes.next() else { throw LDAPError.protocolViolation("no operation") }
            let controls = nodes.next().map(parseControls) ?? []
            guard operation.identifier.tagClass == .application else { throw LDAPError.protocolViolation("the operation is not application-tagged") }
            switch operation.identifier.tagNumber {
            case 1: return (id, .bind(try result(operation)))
            case 4: return (id, .entry(try entry(operation)))
            case 19: return (id, .reference)
            case 5:
                let cookie = try controls.first { $0.oid == pagedResultsOID }.map { try pagedCookie($0.value ?? []) }
                return (id, .searchDone(try result(operation), pagedCookie: cookie))
            case 24: return (id == 0 ? (0, .notice(try result(operation))) : (id, .extended(try result(operation))))
            default: throw LDAPError.protocolViolation("unexpected operation [APPLICATION \(operation.identifier.tagNumber)]")
            }
        } catch let error as LDAPError {
            throw error
        } catch {
            throw .protocolViolation("malformed BER (\(type(of: error)))")
        }
    }

    /// Two's-complement INTEGER or ENUMERATED content, up to 8 bytes.
    static func integer(_ node: ASN1Node) -> Int? {
        guard case .primitive(let content) = node.content, (1...8).contains(content.count) else { return nil }
        var value = Int(Int8(bitPattern: content.first!))
        for byte in content.dropFirst() { value = value << 8 | Int(byte) }
        return value
    }

    static func octetString(_ node: ASN1Node) -> [UInt8]? {
        guard case .primitive(let content) = node.content else { return nil }
        return Array(content)
    }

    static func text(_ node: ASN1Node) -> String? {
        octetString(node).map { String(decoding: $0, as: UTF8.self) }
    }

    /// LDAPResult (§4.1.9), the first three components of every response.
    static func result(_ node: ASN1Node) throws -> Result {
        guard case .constructed(let children) = node.content else { throw LDAPError.protocolViolation("a result is not constructed") }
        var parts = children.makeIterator()
        guard let codeNode = parts.next(), codeNode.identifier == .enumerated, let code = integer(codeNode),
            let matched = parts.next().flatMap(text), let message = parts.next().flatMap(text)
        else { throw LDAPError.protocolViolation("a result lacks its code, matched DN or message") }
        return Result(code: code, matchedDN: matched, message: message)
    }

    /// SearchResultEntry (§4.5.2): the DN, then each attribute with its values.
    static func entry(_ node: ASN1Node) throws -> LDAPEntry {
        guard case .constructed(let children) = node.content else { throw LDAPError.protocolViolation("an entry is not constructed") }
        var parts = children.makeIterator()
        guard let dn = parts.next().flatMap(text), let list = parts.next(), case .constructed(let attributes) = list.content else {
            throw LDAPError.protocolViolation("an entry lacks its DN or attributes")
        }
        var values: [String: [[UInt8]]] = [:]
        for attribute in attributes {
            guard case .constructed(let pair) = attribute.content else { throw LDAPError.protocolViolation("an attribute is not constructed") }
            var items = pair.makeIterator()
            guard let type = items.next().flatMap(text), let set = items.next(), case .constructed(let valueNodes) = set.content else {
                throw LDAPError.protocolViolation("an attribute lacks its type or values")
            }
            values[type.lowercased(), default: []] += valueNodes.compactMap(octetString)
        }
        return LDAPEntry(dn: dn, attributes: values)
    }

    static func parseControls(_ node: ASN1Node) -> [Control] {
        guard node.identifier == context(0), case .constructed(let list) = node.content else { return [] }
        return list.compactMap { control in
            guard case .constructed(let parts) = control.content else { return nil }
            var oid: String?
            var critical = false
            var value: [UInt8]?
            for part in parts {
                switch part.identifier {
                case .octetString where oid == nil: oid = text(part)
                case .boolean: critical = octetString(part) != [0]
                case .octetString: value = octetString(part)
                default: continue
                }
            }
            return oid.map { Control(oid: $0, critical: critical, value: value) }
        }
    }

    /// realSearchControlValue (RFC 2696 §2): `SEQUENCE { size INTEGER, cookie OCTET STRING }`.
    static func pagedCookie(_ value: [UInt8]) throws -> [UInt8] {
        let node = try BER.parse(value)
        guard case .constructed(let parts) = node.content else { throw LDAPError.protocolViolation("the paged results control is not a SEQUENCE") }
        var items = parts.makeIterator()
        _ = items.next()
        guard let cookie = items.next().flatMap(octetString) else { throw LDAPError.protocolViolation("the paged results control has no cookie") }
        return cookie
    }
}

/// One directory entry: its DN and attribute values by lower-cased attribute name.
public struct LDAPEntry: Sendable, Equatable {
    public let dn: String
    public let attributes: [String: [[UInt8]]]

    public init(dn: String, attributes: [String: [[UInt8]]]) {
        self.dn = dn
        self.attributes = attributes
    }

    /// The first value of an attribute as UTF-8 text.
    public func first(_ attribute: String) -> String? {
        attributes[attribute.lowercased()]?.first.map { String(decoding: $0, as: UTF8.self) }
    }
}
