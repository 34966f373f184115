import AssayModel
import Foundation
import StrictJSON
import Testing

@Suite("Strict JSON reader (RFC 8259)")
struct JSONReaderTests {
    func parse(_ text: String) throws -> JSONValue { try JSONReader().parse(Array(text.utf8)) }

    @Test("values of every kind, with whitespace around them")
    func values() throws {
        #expect(
            try parse(" \n\t{\"a\": [1, -2, 0, 3.5, -0.25e2, 1E3, true, false, null, \"x\"]}\r\n")
                == .object([
                    "a": .array([
                        .integer(1), .integer(-2), .integer(0), .double(3.5), .double(-25), .double(1000), .bool(true), .bool(false), .null, .string("x"),
                    ])
                ]))
        #expect(try parse("9223372036854775807") == .integer(.max))
        #expect(try parse("-9223372036854775808") == .integer(.min))
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([:]))
    }

    @Test("escapes, surrogate pairs and raw UTF-8 come out as the same characters")
    func strings() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(try parse(#""\u00e9\u20AC\ud83d\ude00""#) == .string("é€😀"))
        #expect(try parse("\"é€😀 ünïcödé\"") == .string("é€😀 ünïcödé"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
    }

    @Test(
        "malformed text is refused with the offset and the reason",
        arguments: [
            ("", 0, "ends where a value"),
            ("{", 1, "object key must be a string"),
            ("[1,]", 3, "a value cannot start here"),
            ("{\"a\":1,}", 7, "object key must be a string"),
            ("[1 2]", 3, "',' or ']'"),
            ("{\"a\" 1}", 5, "':' expected"),
            ("01", 1, "leading zero"),
            ("-", 1, "digit must follow '-'"),
            (".5", 0, "cannot start here"),
            ("1.", 2, "digit must follow '.'"),
            ("1e", 2, "exponent"),
            ("tru", 0, "unknown word"),
            ("nul", 0, "unknown word"),
            ("NaN", 0, "cannot start here"),
            ("\"abc", 4, "ends inside a string"),
            ("\"a\u{1}b\"", 2, "control character"),
            ("\"a\nb\"", 2, "control character"),
            (#""\x""#, 2, "unknown escape"),
            (#""\u12""#, 3, "four hex digits"),
            (#""\ud83d""#, 7, "lone surrogate"),
            (#""\ude00""#, 7, "lone surrogate"),
            (#""\ud83d\u0041""#, 13, "lone surrogate"),
            ("{\"a\":1,\"a\":2}", 7, "appears twice"),
            ("1 2", 2, "text after the value"),
            ("// comment\n1", 0, "cannot start here"),
            ("1e999", 0, "out of range"),
        ])
    func malformed(text: String, offset: Int, reason: String) {
        #expect {
            try JSONReader().parse(Array(text.utf8))
        } throws: { error in
            guard let failure = error as? JSONReader.Failure else { return false }
            return failure.offset == offset && failure.reason.contains(reason)
        }
    }

    @Test("invalid UTF-8 inside a string is refused, with or without escapes")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xC3, 0x28, 0x22], [0x22, 0x5C, 0x6E, 0xFF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22]] {
            #expect(throws: JSONReader.Failure.self) { try JSONReader().parse(bytes) }
        }
    }

    @Test("hostile sizes: deep nesting and long strings stop at the limits, without a crash")
    func limits() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONReader.Failure(offset: 64, reason: "nested deeper than 64 levels")) { try parse(deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try parse(fine)
        var limits = JSONReader.Limits()
        limits.maxStringBytes = 10
        #expect(throws: JSONReader.Failure.self) { try JSONReader(limits: limits).parse(Array("\"0123456789ab\"".utf8)) }
        #expect(throws: JSONReader.Failure.self) { try JSONReader(limits: limits).parse(Array("\"01234\\n6789ab\"".utf8)) }
        // Every truncation of a real document is refused cleanly.
        let document = Array(#"{"a":[1,2.5,"x\u00e9",{"b":null,"c":[true,false]}],"d":"e"}"#.utf8)
        for end in 0..<document.count {
            #expect(throws: JSONReader.Failure.self) { try JSONReader().parse(Array(document[..<end])) }
        }
    }

    static func fixture() throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/inventory", withExtension: "json"))
        return Array(try Data(contentsOf: url))
    }

    @Test("a real bot inventory decodes to exactly what Foundation's JSONDecoder gives")
    func agreesWithFoundation() throws {
        let bytes = try Self.fixture()
        let ours = try JSONValueDecoder().decode(InventoryDocument.self, from: bytes)
        let foundation = try JSONDecoder().decode(InventoryDocument.self, from: Data(bytes))
        #expect(ours == foundation)
        #expect(ours.software.count > 100)
        // and the bot's own encoding of a consumption document reads back the same
        var consumption = ConsumptionDocument(header: ours.header, sampleSeconds: 20, bucketSeconds: 300)
        consumption.bucketStarts = [1_764_374_400, 1_764_374_700]
        consumption.sampleCounts = [15, 15]
        consumption.cpu = StatSeries(avg: [120, 340], p95: [200, 400], max: [900, 1000])
        let encoded = Array(try JSONEncoder().encode(consumption))
        #expect(try JSONValueDecoder().decode(ConsumptionDocument.self, from: encoded) == consumption)
    }

    @Test("the outermost object's members are located in the text; nested ones are not")
    func memberSpans() throws {
        let text = Array(#" { "a" : [1, {"b": "x\"}"}] , "c":{"a":2},"d":"\u0041" } "#.utf8)
        let (value, members) = try JSONReader().parseRecordingMembers(text)
        #expect(value == (try JSONReader().parse(text)))
        #expect(Set(members.keys) == ["a", "c", "d"])
        func slice(_ key: String) -> String { String(decoding: text[members[key]!], as: UTF8.self) }
        #expect(slice("a") == #"[1, {"b": "x\"}"}]"#)
        #expect(slice("c") == #"{"a":2}"#)
        #expect(slice("d") == #""\u0041""#)
        #expect(try JSONReader().parseRecordingMembers(Array("[{\"a\":1}]".utf8)).members.isEmpty)
    }

    @Test("wrong shapes give DecodingError with the path, like JSONDecoder")
    func decodingErrors() throws {
        struct Item: Decodable {
            let name: String
            let size: Int8
            let tags: [String?]
        }
        let decoder = JSONValueDecoder()
        #expect {
            try decoder.decode(Item.self, from: Array(#"{"name":"a","size":1,"tags":["x",3]}"#.utf8))
        } throws: { error in
            guard case .typeMismatch(_, let context) = error as? DecodingError else { return false }
            return context.codingPath.map(\.stringValue) == ["tags", "1"]
        }
        #expect {
            try decoder.decode(Item.self, from: Array(#"{"name":"a","size":300,"tags":[]}"#.utf8))
        } throws: { error in
            guard case .dataCorrupted(let context) = error as? DecodingError else { return false }
            return context.codingPath.map(\.stringValue) == ["size"]
        }
        #expect {
            try decoder.decode(Item.self, from: Array(#"{"name":"a","tags":[]}"#.utf8))
        } throws: { error in
            guard case .keyNotFound(let key, _) = error as? DecodingError else { return false }
            return key.stringValue == "size"
        }
        #expect {
            try decoder.decode(Item.self, from: Array(#"{"name":null,"size":1,"tags":[]}"#.utf8))
        } throws: { error in
            guard case .valueNotFound = error as? DecodingError else { return false }
            return true
        }
        let item = try decoder.decode(Item.self, from: Array(#"{"name":"a","size":-128,"tags":[null,"b"],"extra":{}}"#.utf8))
        #expect(item.size == -128 && item.tags == [nil, "b"])
    }
}

@Suite("Strict JSON decoder: columns")
struct JSONColumnTests {
    struct Columns: Decodable, Equatable {
        let names: [String]
        let vendors: [String?]
        let sizes: [Int64]
        let times: [Int64?]
    }

    @Test("arrays of strings and integers, with nulls where optional, decode whole; a wrong element names its index")
    func columns() throws {
        let decoder = JSONValueDecoder()
        let columns = try decoder.decode(Columns.self, from: Array(#"{"names":["a","b"],"vendors":[null,"v"],"sizes":[1,2.0],"times":[null,3]}"#.utf8))
        #expect(columns == Columns(names: ["a", "b"], vendors: [nil, "v"], sizes: [1, 2], times: [nil, 3]))
        for (text, path) in [
            (#"{"names":["a",1],"vendors":[],"sizes":[],"times":[]}"#, ["names", "1"]),
            (#"{"names":[],"vendors":[1],"sizes":[],"times":[]}"#, ["vendors", "0"]),
            (#"{"names":[],"vendors":[],"sizes":[null],"times":[]}"#, ["sizes", "0"]),
            (#"{"names":[],"vendors":[],"sizes":[],"times":[1.5]}"#, ["times", "0"]),
        ] {
            #expect {
                try decoder.decode(Columns.self, from: Array(text.utf8))
            } throws: { error in
                switch error as? DecodingError {
                case .typeMismatch(_, let context), .valueNotFound(_, let context): context.codingPath.map(\.stringValue) == path
                default: false
                }
            }
        }
    }

    enum Source: String, Decodable { case dpkg, rpm }
    struct Sources: Decodable { let source: [Source] }

    @Test("arrays of string-valued enums decode whole; an unknown value names its index")
    func enumColumns() throws {
        #expect(try JSONValueDecoder().decode(Sources.self, from: Array(#"{"source":["dpkg","rpm"]}"#.utf8)).source == [.dpkg, .rpm])
        #expect {
            try JSONValueDecoder().decode(Sources.self, from: Array(#"{"source":["dpkg","msi"]}"#.utf8))
        } throws: { error in
            guard case .dataCorrupted(let context) = error as? DecodingError else { return false }
            return context.codingPath.map(\.stringValue) == ["source", "1"]
        }
    }
}
