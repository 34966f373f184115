import Foundation
import Testing

@testable import Directory

/// CON-1: device lists from CSV, read with a CSV library, taken whole or not at all.
@Suite("Device lists from CSV")
struct DeviceListCSVTests {
    static func parse(_ text: String) throws -> [Device] { try DeviceListCSV.parse(Data(text.utf8)) }

    @Test("quoted fields, a byte order mark, CRLF, blank lines, any column order and case")
    func acceptsWhatSpreadsheetsWrite() throws {
        let text =
            "\u{FEFF}Labels,HOST,user,port\r\n\"web;prod\",web01.acme.example,deploy,2222\r\n\r\n\"db, primary\",\"10.0.0.5\",,\r\n ,db02.acme.example,root, 22 \r\n"
        let devices = try Self.parse(text.replacingOccurrences(of: "db, primary", with: "db;primary"))
        #expect(
            devices == [
                Device(host: "web01.acme.example", port: 2222, user: "deploy", labels: ["web", "prod"]),
                Device(host: "10.0.0.5", port: 22, user: nil, labels: ["db", "primary"]),
                Device(host: "db02.acme.example", port: 22, user: "root", labels: []),
            ])
        #expect(try Self.parse("host\n2001:db8::7\n") == [Device(host: "2001:db8::7")])
    }

    @Test("bad rows are reported by line number, and nothing is imported")
    func reportsEveryBadRow() throws {
        let text = """
            host,port,user,labels
            good.acme.example,22,deploy,web
            "bad host; rm -rf /",22,deploy,web
            ok.acme.example,70000,deploy,web
            ok2.acme.example,22,Root$(id),web
            ok3.acme.example,22,deploy,"a b"
            good.acme.example,22,other,web
            "quoted
            host",22,deploy,web
            short.acme.example,22
            """
        do {
            _ = try Self.parse(text)
            Issue.record("a list with bad rows was imported")
        } catch let problems as DeviceListCSV.Problems {
            #expect(problems.problems.map(\.line) == [3, 4, 5, 6, 7, 8, 10])
            #expect(problems.problems[0].reason.contains("is not a host name"))
            #expect(problems.problems[1].reason.contains("port"))
            #expect(problems.problems[2].reason.contains("user"))
            #expect(problems.problems[3].reason.contains("label"))
            #expect(problems.problems[4].reason.contains("listed already (line 2)"))
            #expect(problems.problems[6].reason.contains("2 fields where the header has 4"))
            #expect(problems.description.hasPrefix("the device list was not imported:\nline 3: "))
        }
    }

    @Test("the header must name a host column and only known columns; the file must be UTF-8 text of reasonable size")
    func header() throws {
        #expect(throws: DeviceListCSV.Problems.self) { try Self.parse("name,port\nweb01,22\n") }
        #expect(throws: DeviceListCSV.Problems.self) { try Self.parse("host,password\nweb01,secret\n") }
        #expect(throws: DeviceListCSV.Problems.self) { try DeviceListCSV.parse(Data([0x68, 0x6f, 0x73, 0x74, 0x0a, 0xff, 0xfe])) }
        #expect(throws: DeviceListCSV.Problems.self) { try DeviceListCSV.parse(Data(count: DeviceListCSV.maxBytes + 1)) }
        #expect(try Self.parse("host\n").isEmpty)
    }

    @Test(
        "host names, addresses, users and labels: data, never syntax",
        arguments: [
            ("web01", true), ("web-01.acme.example", true), ("192.0.2.10", true), ("::1", true), ("fe80::1:2", true),
            ("-web", false), ("web_01", false), ("a..b", false), ("256.1.1.1", true), ("web01;reboot", false), ("$(id)", false),
            ("-oProxyCommand=sh", false), ("", false), ("web 01", false),
        ])
    func hosts(host: String, valid: Bool) {
        // "256.1.1.1" is a valid host *name* by RFC 1123 labels (all digits); DNS decides.
        #expect(Device.isHost(host) == valid, "\(host)")
    }

    @Test("users and labels")
    func usersAndLabels() {
        #expect(Device.isUser("deploy") && Device.isUser("_svc") && Device.isUser("ops-2"))
        #expect(!Device.isUser("Root") && !Device.isUser("-oProxyCommand") && !Device.isUser("a b") && !Device.isUser(String(repeating: "a", count: 33)))
        #expect(Device.isLabel("prod") && Device.isLabel("eu-west.1") && !Device.isLabel("a;b") && !Device.isLabel(""))
    }

    @Test("an unclosed quote is named where it opens; every fault of a row is named; a repeated host is caught behind a bad first row (issue 17, 14)")
    func preciseMessages() throws {
        let unclosed = """
            host,port,user,labels
            web01.acme.example,22,deploy,web
            web02.acme.example,22,deploy,"web;db
            web03.acme.example,22,deploy,web
            web04.acme.example,22,deploy,web
            """
        do {
            _ = try Self.parse(unclosed)
            Issue.record("an unclosed quote was imported")
        } catch let problems as DeviceListCSV.Problems {
            #expect(problems.problems == [.init(line: 3, reason: "a quoted field opened on this line is never closed (a \" is missing)")])
        }
        // Quotes that close, doubled quotes and quoted line breaks are not a fault of their own.
        #expect(DeviceListCSV.unclosedQuote(in: "host,labels\n\"a\"\"b\",\"x\ny\"\nc,\"\"\n") == nil)
        #expect(DeviceListCSV.unclosedQuote(in: "host,labels\r\nweb,\"a\"\"\r\nweb2,b\r\n") == 2)

        let faults = """
            host,port,user,labels
            dup.acme.example,22,Root$(id),web
            two.acme.example,70000,Bad User,"a b"
            dup.acme.example,22,deploy,web
            """
        do {
            _ = try Self.parse(faults)
            Issue.record("a list with bad rows was imported")
        } catch let problems as DeviceListCSV.Problems {
            #expect(problems.problems.map(\.line) == [2, 3, 3, 3, 4])
            #expect(problems.problems[0].reason.hasPrefix("user \"Root$(id)\""))
            #expect(problems.problems[1].reason.hasPrefix("port \"70000\""))
            #expect(problems.problems[2].reason.hasPrefix("user \"Bad User\""))
            #expect(problems.problems[3].reason.hasPrefix("label \"a b\""))
            #expect(problems.problems[4].reason == "dup.acme.example port 22 is listed already (line 2)")
        }
    }
}

@Suite("LDAP filters (RFC 4515)")
struct LDAPFilterTests {
    @Test("the RFC's examples, and values that would widen or break a filter")
    func escaping() {
        #expect(LDAPFilter.escape("Parens R Us (for all your parenthetical needs)") == "Parens R Us \\28for all your parenthetical needs\\29")
        #expect(LDAPFilter.escape("*") == "\\2a")
        #expect(LDAPFilter.escape("C:\\MyFile") == "C:\\5cMyFile")
        #expect(LDAPFilter.escape("a\u{0}b") == "a\\00b")
        #expect(LDAPFilter.escape("Lučić") == "Lučić")
        #expect(LDAPFilter.equals("dNSHostName", "*)(objectClass=*") == "(dNSHostName=\\2a\\29\\28objectClass=\\2a)")
    }
}
