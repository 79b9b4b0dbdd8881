import SafeguardCore
import XCTest

/// The parser's two modes: `.canonical` accepts only RFC 8785 output byte for byte;
/// `.lenient` accepts any RFC 8259 text within I-JSON's limits.
final class JSONParserTests: XCTestCase {

    private func parse(_ text: String, _ mode: JSONParser.Mode) throws -> JSONValue {
        try JSONParser.parse(utf8(text), mode: mode)
    }

    private func assertRejected(_ input: [UInt8], _ mode: JSONParser.Mode, _ why: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONParser.parse(input, mode: mode),
                             "\(mode) mode should reject \(why): \(hexString(input))", file: file, line: line) { error in
            XCTAssertTrue(error is JSONParser.Failure, file: file, line: line)
        }
    }

    private func assertRejected(_ text: String, _ mode: JSONParser.Mode, _ why: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        assertRejected(utf8(text), mode, why + " (\(text))", file: file, line: line)
    }

    private func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    // MARK: - Canonical mode

    func testCanonicalAcceptsCanonicalText() throws {
        XCTAssertEqual(try parse(#"{"a":1,"b":[true,false,null],"c":"x"}"#, .canonical),
                       ["a": 1, "b": [true, false, .null], "c": "x"])
        XCTAssertEqual(try parse(#"{"":0,"a":1,"aa":2,"ab":3}"#, .canonical), ["": 0, "a": 1, "aa": 2, "ab": 3])
        XCTAssertEqual(try parse(#"[-1,0,1.5,-0.000001,1e+21,5e-324]"#, .canonical),
                       [-1, 0, .number(1.5), .number(-0.000001), .number(1e21), .number(.leastNonzeroMagnitude)])
        XCTAssertEqual(try parse(#""\u001f\u0000\b\t\n\f\r\"\\/""#, .canonical),
                       .string("\u{1F}\u{0}\u{8}\t\n\u{C}\r\"\\/"))
        XCTAssertEqual(try parse(#"{"B":1,"a":2}"#, .canonical), ["B": 1, "a": 2])
        // UTF-16 order: U+1F600 (D83D DE00) precedes U+FFFD.
        XCTAssertEqual(try parse("{\"\u{1F600}\":1,\"\u{FFFD}\":2}", .canonical), ["\u{1F600}": 1, "\u{FFFD}": 2])
        XCTAssertEqual(try parse("{}", .canonical), [:])
        XCTAssertEqual(try parse("[]", .canonical), [])
        XCTAssertEqual(try parse("-9007199254740991", .canonical), .integer(-9_007_199_254_740_991))
    }

    func testCanonicalRejectsWhitespace() {
        for text in [" {}", "{} ", "{}\n", "{ }", "[ ]", #"{"a": 1}"#, #"{"a" :1}"#, "[1, 2]", "[1 ,2]", "\t1", "1\r"] {
            assertRejected(text, .canonical, "whitespace")
        }
    }

    func testCanonicalRejectsMemberOrder() {
        assertRejected(#"{"b":1,"a":2}"#, .canonical, "members out of order")
        assertRejected(#"{"aa":1,"a":2}"#, .canonical, "a longer name before its prefix")
        assertRejected(#"{"a":{"d":1,"c":2}}"#, .canonical, "a nested object out of order")
        assertRejected(#"[{"y":1,"x":2}]"#, .canonical, "an object in an array out of order")
        // By scalar value (and UTF-8) U+FFFD comes first, by UTF-16 it does not.
        assertRejected("{\"\u{FFFD}\":1,\"\u{1F600}\":2}", .canonical, "UTF-16 order")
    }

    func testCanonicalRejectsDuplicates() {
        assertRejected(#"{"a":1,"a":2}"#, .canonical, "a duplicate name")
        assertRejected(#"{"a":1,"a":1}"#, .canonical, "a duplicate name and value")
    }

    func testCanonicalRejectsEscapesJCSDoesNotWrite() {
        assertRejected(#""\/""#, .canonical, #"the \/ escape"#)
        assertRejected(#""\u0041""#, .canonical, "an escaped non-control character")
        assertRejected(#""\u00e9""#, .canonical, "an escaped non-ASCII character")
        assertRejected(#""\u000a""#, .canonical, #"\u000a instead of \n"#)
        assertRejected(#""\u0009""#, .canonical, #"\u0009 instead of \t"#)
        assertRejected(#""\u001F""#, .canonical, #"uppercase hex in \u"#)
        assertRejected(#""\u000B""#, .canonical, #"uppercase hex in \u"#)
        assertRejected(#""\ud83d\ude00""#, .canonical, "an escaped surrogate pair")
        assertRejected(#""\x41""#, .canonical, "an invalid escape")
    }

    func testCanonicalRejectsNonCanonicalNumbers() {
        let cases = ["-0", "01", "-01", "00", "1.0", "1.50", "0.0", "-0.0", "1E2", "1e2", "1e+2", "1E+30", "1e30",
                     "0.10", "1.5e0", "1e21", "0.0000001", "1e-07", "1E-7", "10e-1", "+1", ".5", "5.", "0x10"]
        for text in cases {
            assertRejected(text, .canonical, "a non-canonical number")
            assertRejected("[\(text)]", .canonical, "a non-canonical number in an array")
        }
    }

    func testCanonicalRejectsLoneSurrogates() {
        assertRejected(#""\ud800""#, .canonical, "a lone high surrogate")
        assertRejected(#""\udc00""#, .canonical, "a lone low surrogate")
    }

    // MARK: - Both modes

    func testInvalidUTF8IsRejected() {
        let strings: [(String, [UInt8])] = [
            ("a 0xFF byte", [0x22, 0xFF, 0x22]),
            ("a lone continuation byte", [0x22, 0x80, 0x22]),
            ("an overlong '/'", [0x22, 0xC0, 0xAF, 0x22]),
            ("an overlong NUL", [0x22, 0xC0, 0x80, 0x22]),
            ("a truncated sequence", [0x22, 0xE2, 0x82, 0x22]),
            ("a UTF-8-encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22]),
            ("a code point above U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]),
            ("invalid UTF-8 after an escape", [0x22, 0x5C, 0x6E, 0xFF, 0x22]),
        ]
        for mode in [JSONParser.Mode.canonical, .lenient] {
            for (why, s) in strings {
                assertRejected(s, mode, why)
                assertRejected([0x7B] + s + [0x3A, 0x31, 0x7D], mode, why + " in a member name")
            }
            assertRejected([0xFF], mode, "a stray byte outside a string")
            assertRejected([0xEF, 0xBB, 0xBF, 0x7B, 0x7D], mode, "a byte order mark")
        }
    }

    func testRawControlCharactersInStringsAreRejected() {
        for mode in [JSONParser.Mode.canonical, .lenient] {
            for c in [UInt8(0x00), 0x09, 0x0A, 0x1F] {
                assertRejected([0x22, 0x61, c, 0x62, 0x22], mode, "raw control 0x\(String(c, radix: 16))")
                assertRejected([0x22, 0x5C, 0x6E, c, 0x22], mode, "raw control after an escape")
            }
        }
    }

    func testNestingLimit() throws {
        XCTAssertEqual(JSONParser.maxDepth, 64)
        for mode in [JSONParser.Mode.canonical, .lenient] {
            XCTAssertNoThrow(try parse(nested(64), mode))
            assertRejected(nested(65), mode, "65 levels of nesting")
            assertRejected(nested(1000), mode, "1000 levels of nesting")
            let objects = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
            assertRejected(objects, mode, "65 levels of objects")
            let objects64 = String(repeating: #"{"a":"#, count: 63) + "[]" + String(repeating: "}", count: 63)
            XCTAssertNoThrow(try parse(objects64, mode))
        }
        XCTAssertThrowsError(try parse(nested(65), .lenient)) { error in
            XCTAssertEqual((error as? JSONParser.Failure)?.offset, 64)
        }
    }

    func testMalformedJSONIsRejected() {
        let cases = ["", "[", "]", "{", "}", "[1,]", "[,1]", #"{"a":1,}"#, #"{"a"}"#, #"{"a":}"#, #"{a:1}"#,
                     "{1:1}", "'a'", #""abc"#, #""\"#, #""\u12""#, #""\uZZZZ""#, "tru", "nul", "True", "NaN",
                     "Infinity", "-Infinity", "-", "1e", "1e+", "1.", "[1 2]", "{} {}", "1 2", "[]]", "null x",
                     "/* c */1", "[1]//"]
        for mode in [JSONParser.Mode.canonical, .lenient] {
            for text in cases { assertRejected(text, mode, "malformed JSON") }
        }
    }

    func testIntegersBeyondSafeRangeAreRejected() throws {
        for mode in [JSONParser.Mode.canonical, .lenient] {
            XCTAssertEqual(try parse("9007199254740991", mode), .integer(9_007_199_254_740_991))
            XCTAssertEqual(try parse("-9007199254740991", mode), .integer(-9_007_199_254_740_991))
            for text in ["9007199254740992", "-9007199254740992", "9223372036854775807", "-9223372036854775808",
                         "9223372036854775808", "99999999999999999999", "[1,9007199254740993]"] {
                assertRejected(text, mode, "an integer beyond ±(2^53 − 1)")
            }
        }
    }

    func testDecimalsOutOfDoubleRangeAreRejected() {
        for mode in [JSONParser.Mode.canonical, .lenient] {
            assertRejected("1e400", mode, "a decimal that overflows a double")
            assertRejected("-1.7976931348623159e+308", mode, "a decimal that rounds to -infinity")
        }
    }

    // MARK: - Lenient mode

    func testLenientAcceptsWhitespaceAndAnyOrder() throws {
        let text = " \t\r\n{ \"b\" : [ 1 , 2 ] ,\n \"a\" :\t{ } }\n "
        XCTAssertEqual(try parse(text, .lenient), ["a": [:], "b": [1, 2]])
        XCTAssertEqual(try CanonicalJSON.encode(parse(text, .lenient)), utf8(#"{"a":{},"b":[1,2]}"#))
    }

    func testLenientAcceptsEveryValidEscape() throws {
        XCTAssertEqual(try parse(#""\/\u0041\u00E9\u00e9\"\\\b\f\n\r\t""#, .lenient),
                       .string("/A\u{E9}\u{E9}\"\\\u{8}\u{C}\n\r\t"))
        let pair = try parse(#""\ud83d\ude00""#, .lenient)
        XCTAssertEqual(pair.stringValue.map { Array($0.unicodeScalars) }, ["\u{1F600}"])
        let upper = try parse(#""\uD83D\uDE00""#, .lenient)
        XCTAssertEqual(upper.stringValue.map { Array($0.unicodeScalars) }, ["\u{1F600}"])
        XCTAssertEqual(try parse(#""\u0000""#, .lenient), .string("\u{0}"))
    }

    func testLenientNumberForms() throws {
        XCTAssertEqual(try parse("1.0", .lenient), .number(1))
        XCTAssertEqual(try parse("1E2", .lenient), .number(100))
        XCTAssertEqual(try parse("1e-2", .lenient), .number(0.01))
        XCTAssertEqual(try parse("-0", .lenient), .integer(0))
        XCTAssertEqual(try parse("-0.0", .lenient), .number(-0.0))
        XCTAssertEqual(try parse("0.30000000000000004", .lenient), .number(0.1 + 0.2))
        XCTAssertEqual(try CanonicalJSON.encode(parse("[1.0,1E2,-0,4.50]", .lenient)), utf8("[1,100,0,4.5]"))
        for text in ["01", "-01", "00", "+1", ".5", "5.", "1.e3"] {
            assertRejected(text, .lenient, "a number RFC 8259 does not allow")
        }
    }

    func testLenientStillRejectsDuplicates() {
        assertRejected(#"{"a":1,"a":2}"#, .lenient, "a duplicate name")
        assertRejected(#"{"a":1,"b":2,"a":1}"#, .lenient, "a duplicate name, not adjacent")
        assertRejected(#"{"a":1,"\u0061":2}"#, .lenient, "a duplicate name spelled with an escape")
        assertRejected(#"{"x":{"a":1,"a":2}}"#, .lenient, "a nested duplicate name")
        XCTAssertThrowsError(try parse(#"{"a":1,"a":2}"#, .lenient)) { error in
            XCTAssertEqual((error as? JSONParser.Failure)?.offset, 7)
        }
    }

    func testLenientStillRejectsLoneSurrogates() {
        for text in [#""\ud800""#, #""\udbff""#, #""\udc00""#, #""\udfff""#, #""\ud800x""#, #""\ud800\u0041""#,
                     #""\ud800\ud800""#, #""\ude00\ud83d""#, #""\ud800\""#, #"{"\ud800":1}"#] {
            assertRejected(text, .lenient, "a lone surrogate")
        }
    }

    func testLenientRejectsTrailingText() {
        for text in ["{}x", "{} {}", "[] ,", "1 2", "\"a\" \"b\"", "null null", "true,"] {
            assertRejected(text, .lenient, "text after the value")
        }
    }

    func testCanonicallyEquivalentNamesAreNeverMerged() throws {
        // U+00E9 and U+0065 U+0301 are different member names to JSON. Swift's String treats them
        // as equal, so the parser must refuse the object rather than keep only one of them.
        let text = "{\"\u{E9}\":1,\"e\u{301}\":2}"
        if let value = try? parse(text, .lenient) {
            XCTAssertEqual(value.objectValue?.count, 2, "a member was silently dropped")
        }
    }

    func testFailureCarriesOffset() {
        XCTAssertThrowsError(try parse("[1,x]", .lenient)) { error in
            XCTAssertEqual((error as? JSONParser.Failure)?.offset, 3)
            XCTAssertEqual((error as? JSONParser.Failure)?.reason, "unexpected character 'x'")
        }
        XCTAssertThrowsError(try parse("[1] ", .canonical)) { error in
            XCTAssertEqual((error as? JSONParser.Failure)?.offset, 3)
        }
        XCTAssertThrowsError(try parse(#"{"b":1,"a":2}"#, .canonical)) { error in
            XCTAssertEqual((error as? JSONParser.Failure)?.offset, 7)
        }
    }
}
