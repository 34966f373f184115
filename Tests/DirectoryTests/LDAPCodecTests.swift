import NIOCore
import SwiftASN1
import Testing

@testable import Directory
@testable import LDAP

/// The LDAP client's own target (RFC 4511, 4515, 2696): filters read strictly, requests encoded as
/// the RFC's ASN.1 says, answers decoded with bounds. The client against a real slapd is in
/// Integration/console/test_discovery.py.
@Suite("LDAP codec")
struct LDAPCodecTests {
    @Test("RFC 4515 §4's example filters parse")
    func rfcExamples() throws {
        #expect(try SearchFilter(parsing: "(cn=Babs Jensen)") == .equal("cn", Array("Babs Jensen".utf8)))
        #expect(try SearchFilter(parsing: "(!(cn=Tim Howes))") == .not(.equal("cn", Array("Tim Howes".utf8))))
        #expect(
            try SearchFilter(parsing: "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))")
                == .and([
                    .equal("objectClass", Array("Person".utf8)),
                    .or([.equal("sn", Array("Jensen".utf8)), .substrings("cn", initial: Array("Babs J".utf8), any: [], final: nil)]),
                ]))
        #expect(
            try SearchFilter(parsing: "(o=univ*of*mich*)")
                == .substrings("o", initial: Array("univ".utf8), any: [Array("of".utf8), Array("mich".utf8)], final: nil))
        #expect(try SearchFilter(parsing: "(seeAlso=)") == .equal("seeAlso", []))
        #expect(try SearchFilter(parsing: "(cn=*)") == .present("cn"))
        #expect(
            try SearchFilter(parsing: "(cn:caseExactMatch:=Fred Flintstone)")
                == .extensible(attribute: "cn", rule: "caseExactMatch", value: Array("Fred Flintstone".utf8), dnAttributes: false))
        #expect(
            try SearchFilter(parsing: "(sn:dn:2.4.6.8.10:=Barney Rubble)")
                == .extensible(attribute: "sn", rule: "2.4.6.8.10", value: Array("Barney Rubble".utf8), dnAttributes: true))
        #expect(
            try SearchFilter(parsing: "(:1.2.3:=Wilma Flintstone)")
                == .extensible(attribute: nil, rule: "1.2.3", value: Array("Wilma Flintstone".utf8), dnAttributes: false))
        #expect(
            try SearchFilter(parsing: "(o=Parens R Us \\28for all your parenthetical needs\\29)")
                == .equal("o", Array("Parens R Us (for all your parenthetical needs)".utf8)))
        #expect(try SearchFilter(parsing: "(cn=*\\2A*)") == .substrings("cn", initial: nil, any: [[0x2A]], final: nil))
        #expect(try SearchFilter(parsing: "(bin=\\00\\00\\00\\04)") == .equal("bin", [0, 0, 0, 4]))
        #expect(try SearchFilter(parsing: "(sn=Lu\\c4\\8di\\c4\\87)") == .equal("sn", Array("Lučić".utf8)))
        #expect(try SearchFilter(parsing: "(uidNumber>=1000)") == .greaterOrEqual("uidNumber", Array("1000".utf8)))
    }

    @Test(
        "malformed filters are refused with the place they break",
        arguments: [
            ("(cn=a", 5), ("cn=a", 0), ("(cn=a))", 6), ("(&)", 2), ("(cn=a(b)", 5), ("(cn=\\zz)", 4), ("()", 1), ("(=a)", 1), ("(cn~a)", 4),
            ("(cn>=a*)", 6), ("(a=**b)", 6), ("(::=x)", 2),
        ])
    func malformed(_ text: String, _ offset: Int) {
        #expect {
            try SearchFilter(parsing: text)
        } throws: { error in
            guard case .invalidFilter(let at, _) = error as? LDAPError else { return false }
            return at == offset
        }
    }

    @Test("a filter nested too deep or too long is refused before it costs anything")
    func bounded() {
        let deep = String(repeating: "(!", count: 40) + "(cn=a)" + String(repeating: ")", count: 40)
        #expect(throws: LDAPError.self) { try SearchFilter(parsing: deep) }
        #expect(throws: LDAPError.self) { try SearchFilter(parsing: "(cn=" + String(repeating: "a", count: 5000) + ")") }
    }

    @Test("a value escaped by LDAPFilter.escape reads back as the same bytes and never widens the filter")
    func escapedValuesStayValues() throws {
        for hostile in ["*", "a)(objectClass=*", "\\", "x\u{0}y", "(|(cn=*))"] {
            #expect(try SearchFilter(parsing: LDAPFilter.equals("cn", hostile)) == .equal("cn", Array(hostile.utf8)))
        }
    }

    @Test("a simple bind is the BER of RFC 4511 §4.2")
    func bindEncoding() throws {
        let bytes = try LDAPProtocol.bind(id: 1, dn: "cn=a", password: "b")
        #expect(bytes == [0x30, 0x11, 0x02, 0x01, 0x01, 0x60, 0x0C, 0x02, 0x01, 0x03, 0x04, 0x04, 0x63, 0x6E, 0x3D, 0x61, 0x80, 0x01, 0x62])
    }

    @Test("a search carries its filter with implicit context tags and the paged results control")
    func searchEncoding() throws {
        let filter = try SearchFilter(parsing: "(&(objectClass=computer)(cn=x*)(!(a=*)))")
        let bytes = try LDAPProtocol.search(
            id: 7, base: "dc=t", scope: .subtree, filter: filter, attributes: ["cn"], pageSize: 500, cookie: [1, 2], timeLimitSeconds: 30)
        let hex = bytes.map { String($0, radix: 16, uppercase: false) }.joined(separator: " ")
        // [APPLICATION 3] search, AND [0], equality [3], substrings [4] with initial [0], NOT [2] of present [7]
        #expect(bytes[0] == 0x30)
        #expect(hex.contains("63 "))
        #expect(hex.contains("a0 "))
        #expect(hex.contains("a3 "))
        #expect(hex.contains("a4 "))
        #expect(hex.contains("a2 3 87 1 61"))
        // controls [0] { SEQUENCE { OID 1.2.840.113556.1.4.319, OCTET STRING { SEQUENCE { 500, cookie } } } }
        #expect(Array(bytes.suffix(12)) == [0x04, 0x0A, 0x30, 0x08, 0x02, 0x02, 0x01, 0xF4, 0x04, 0x02, 0x01, 0x02])
        #expect(String(decoding: bytes, as: UTF8.self).contains("1.2.840.113556.1.4.319"))
    }

    @Test("entries and the last page's cookie decode; a result code is carried with its message")
    func decoding() throws {
        let entry = try LDAPProtocol.message(id: 3) { message in
            try message.appendConstructedNode(identifier: LDAPProtocol.application(4)) { entry in
                LDAPProtocol.octets(Array("cn=h1,ou=S".utf8), into: &entry)
                try entry.appendConstructedNode(identifier: .sequence) { list in
                    try list.appendConstructedNode(identifier: .sequence) { attribute in
                        LDAPProtocol.octets(Array("dNSHostName".utf8), into: &attribute)
                        try attribute.appendConstructedNode(identifier: .set) { LDAPProtocol.octets(Array("h1.acme.test".utf8), into: &$0) }
                    }
                }
            }
        }
        guard case (3, .entry(let decoded)) = try LDAPProtocol.decode(entry) else {
            Issue.record("not an entry")
            return
        }
        #expect(decoded.dn == "cn=h1,ou=S")
        #expect(decoded.first("dnshostname") == "h1.acme.test")

        let done = try LDAPProtocol.message(id: 3) { message in
            try message.appendConstructedNode(identifier: LDAPProtocol.application(5)) { result in
                LDAPProtocol.enumerated(49, into: &result)
                LDAPProtocol.octets([], into: &result)
                LDAPProtocol.octets(Array("bad password".utf8), into: &result)
            }
        }
        guard case (3, .searchDone(let result, let cookie)) = try LDAPProtocol.decode(done) else {
            Issue.record("not done")
            return
        }
        #expect(result == LDAPProtocol.Result(code: 49, matchedDN: "", message: "bad password"))
        #expect(cookie == nil)
    }

    @Test("garbage, truncated and oversized messages are protocol errors, never a crash")
    func hostileAnswers() throws {
        for bytes: [UInt8] in [[], [0x30], [0x30, 0x03, 0x02, 0x01], [0x04, 0x00], [0x30, 0x02, 0x02, 0x00], [0x30, 0x05, 0x02, 0x01, 0x01, 0x7F, 0x00]] {
            #expect(throws: LDAPError.self) { try LDAPProtocol.decode(bytes) }
        }
        var buffer = ByteBuffer(bytes: [0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: LDAPError.messageTooLarge(limit: 1024)) { try LDAPMessageDecoder.frameLength(buffer, limit: 1024) }
        buffer = ByteBuffer(bytes: [0x30, 0x80])
        #expect(throws: LDAPError.self) { try LDAPMessageDecoder.frameLength(buffer, limit: 1024) }
        buffer = ByteBuffer(bytes: [0x31, 0x00])
        #expect(throws: LDAPError.self) { try LDAPMessageDecoder.frameLength(buffer, limit: 1024) }
        #expect(try LDAPMessageDecoder.frameLength(ByteBuffer(bytes: [0x30, 0x82, 0x01]), limit: 1024) == nil)
        #expect(try LDAPMessageDecoder.frameLength(ByteBuffer(bytes: [0x30, 0x82, 0x01, 0x00]), limit: 1024) == 260)
    }

    @Test("URLs: ldaps and ldap (StartTLS) by DNS name; no paths, user info or IP literals over TLS")
    func urls() throws {
        #expect(try LDAPServer(url: "ldaps://dc1.acme.test") == LDAPServer(host: "dc1.acme.test", port: 636, security: .ldaps))
        #expect(try LDAPServer(url: "ldap://dc1.acme.test:3268") == LDAPServer(host: "dc1.acme.test", port: 3268, security: .startTLS))
        for bad in ["http://dc1", "ldaps://", "ldaps://u:p@dc1", "ldaps://dc1/dc=x", "ldaps://10.0.0.1", "ldap://10.0.0.1"] {
            #expect(throws: LDAPError.self) { try LDAPServer(url: bad) }
        }
    }

    @Test("Active Directory entries: Linux and Unix hosts kept, the rest skipped with a reason")
    func activeDirectoryMapping() {
        func computer(_ cn: String, _ host: String?, _ os: String) -> LDAPEntry {
            var attributes: [String: [[UInt8]]] = ["operatingsystem": [Array(os.utf8)]]
            if let host { attributes["dnshostname"] = [Array(host.utf8)] }
            return LDAPEntry(dn: "cn=\(cn),ou=S", attributes: attributes)
        }
        let found = ActiveDirectory.devices(
            from: [
                computer("a", "A.acme.test", "Ubuntu"), computer("b", "b.acme.test", "Windows Server 2022"), computer("c", nil, "Linux"),
                computer("d", "d;reboot", "Linux"), computer("e", "a.acme.test", "Red Hat Enterprise Linux"), computer("f", "f.acme.test", "AIX"),
            ], user: "deploy", labels: ["dc1"])
        #expect(
            found.devices == [
                Device(host: "a.acme.test", user: "deploy", labels: ["ad", "dc1"]), Device(host: "f.acme.test", user: "deploy", labels: ["ad", "dc1"]),
            ])
        #expect(found.skipped.map(\.dn) == ["cn=b,ou=S", "cn=c,ou=S", "cn=d,ou=S", "cn=e,ou=S"])
    }

    @Test("a directory's names and operating systems are kept without control characters (issue 17, 8)")
    func activeDirectoryEscapes() {
        let entry = LDAPEntry(
            dn: "cn=w\u{1B}[2J,ou=S", attributes: ["dnshostname": [Array("w1.acme.test".utf8)], "operatingsystem": [Array("Windows\u{1B}]0;x\u{07}".utf8)]])
        let found = ActiveDirectory.devices(from: [entry], user: nil)
        #expect(found.skipped.count == 1)
        let shown = found.skipped[0].dn + found.skipped[0].reason
        #expect(!shown.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(shown.debugDescription)")
        #expect(shown.contains("Windows?]0;x?"))
    }
}
