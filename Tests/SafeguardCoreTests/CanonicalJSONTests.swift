import SafeguardCore
import TestSupport
import XCTest

/// RFC 8785 (JCS) known answers and the canonical encoder's rules.
final class CanonicalJSONTests: XCTestCase {
    struct SerializationVector: Decodable {
        let source: String
        let input: String
        let canonical: String
        let canonical_utf8_hex: String
    }

    struct SortingVector: Decodable {
        let source: String
        let input: String
        let expected_value_order: [String]
    }

    struct NumberVectors: Decodable {
        struct Sample: Decodable {
            let ieee754: String
            let json: String?
            let comment: String
        }
        let source: String
        let samples: [Sample]
    }

    // MARK: - RFC 8785 §3.2.2 / §3.2.3 / §3.2.4

    func testRFC8785PrimitiveSerializationExample() throws {
        let v = try Vectors.load("rfc8785-serialization", as: SerializationVector.self)
        let expected = bytes(hex: v.canonical_utf8_hex)
        // The §3.2.3 text and the §3.2.4 bytes are the same thing, printed two ways.
        XCTAssertEqual(expected, utf8(v.canonical))

        let parsed = try JSONParser.parse(utf8(v.input), mode: .lenient)
        let encoded = try CanonicalJSON.encode(parsed)
        XCTAssertEqual(encoded, expected, "got \(String(decoding: encoded, as: UTF8.self))")

        // What was parsed: the numbers are decimals, the escapes are resolved.
        XCTAssertEqual(parsed["numbers"]?.arrayValue?.count, 5)
        XCTAssertEqual(parsed["numbers"]?.arrayValue?[1], .number(1e30))
        XCTAssertEqual(
            parsed["string"]?.stringValue.map { Array($0.unicodeScalars) },
            Array("\u{20AC}$\u{0F}\nA'B\"\\\\\"/".unicodeScalars))
        XCTAssertEqual(parsed["literals"], [.null, true, false])

        // The canonical output is accepted by the canonical parser and re-encodes to itself.
        let reparsed = try JSONParser.parse(expected, mode: .canonical)
        XCTAssertEqual(reparsed, parsed)
        XCTAssertEqual(try CanonicalJSON.encode(reparsed), expected)

        // The original (non-canonical) input is refused by the canonical parser.
        XCTAssertThrowsError(try JSONParser.parse(utf8(v.input), mode: .canonical))
    }

    func testRFC8785SortingExample() throws {
        let v = try Vectors.load("rfc8785-sorting", as: SortingVector.self)
        let parsed = try JSONParser.parse(utf8(v.input), mode: .lenient)
        XCTAssertEqual(parsed.objectValue?.count, 7)
        let encoded = try CanonicalJSON.encode(parsed)

        // Each value appears in the output after the one the RFC lists before it.
        var searchFrom = encoded.startIndex
        for value in v.expected_value_order {
            let needle = utf8("\"\(value)\"")
            guard let at = firstRange(of: needle, in: encoded, from: searchFrom) else {
                XCTFail("\"\(value)\" is missing or out of order in \(String(decoding: encoded, as: UTF8.self))")
                return
            }
            searchFrom = at.upperBound
        }

        // And the exact bytes: keys written raw (U+0080, U+00F6, U+20AC, U+1F600, U+FB33 as
        // UTF-8, not normalised), only CR escaped.
        var expected = utf8("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"")
        expected += [0xC2, 0x80] + utf8("\":\"Control\",\"")
        expected += [0xC3, 0xB6] + utf8("\":\"Latin Small Letter O With Diaeresis\",\"")
        expected += [0xE2, 0x82, 0xAC] + utf8("\":\"Euro Sign\",\"")
        expected += [0xF0, 0x9F, 0x98, 0x80] + utf8("\":\"Emoji: Grinning Face\",\"")
        expected += [0xEF, 0xAC, 0xB3] + utf8("\":\"Hebrew Letter Dalet With Dagesh\"}")
        XCTAssertEqual(encoded, expected)

        let reparsed = try JSONParser.parse(encoded, mode: .canonical)
        XCTAssertEqual(try CanonicalJSON.encode(reparsed), encoded)
    }

    func testRFC8785AppendixBNumbers() throws {
        let v = try Vectors.load("rfc8785-numbers", as: NumberVectors.self)
        XCTAssertEqual(v.samples.count, 26)
        for sample in v.samples {
            let bits = try XCTUnwrap(UInt64(sample.ieee754, radix: 16), sample.ieee754)
            let d = Double(bitPattern: bits)
            guard let json = sample.json else {
                // NaN and Infinity have no JSON form.
                XCTAssertFalse(d.isFinite, sample.ieee754)
                XCTAssertThrowsError(try CanonicalJSON.encode(.number(d)), sample.ieee754) { error in
                    XCTAssertEqual(error as? CanonicalJSON.Failure, .nonFiniteNumber)
                }
                XCTAssertThrowsError(try CanonicalJSON.encode(.number(-d)), "-" + sample.ieee754)
                XCTAssertThrowsError(try CanonicalJSON.encode([["x": .number(d)]]), "nested " + sample.ieee754)
                continue
            }
            XCTAssertEqual(try CanonicalJSON.formatNumber(d), json, "\(sample.ieee754) (\(sample.comment))")
            XCTAssertEqual(try CanonicalJSON.encode(.number(d)), utf8(json), sample.ieee754)
            XCTAssertEqual(try CanonicalJSON.encode([.number(d)]), utf8("[\(json)]"), sample.ieee754)

            let isIntegerText = !json.contains(".") && !json.contains("e")
            let isSafeInteger = d == d.rounded() && d.magnitude <= Double(JSONValue.maxSafeInteger)
            if isSafeInteger {
                // Integral values in the safe range may equally be held as .integer.
                XCTAssertEqual(try CanonicalJSON.encode(.integer(Int64(d))), utf8(json), sample.ieee754)
            }

            // Round trip through the canonical parser.
            for mode in [JSONParser.Mode.canonical, .lenient] {
                if isIntegerText && !isSafeInteger {
                    // Integers beyond ±(2^53 − 1) are refused by design (the envelope's limit).
                    XCTAssertThrowsError(try JSONParser.parse(utf8(json), mode: mode), "\(json) \(mode)")
                    continue
                }
                let parsed = try JSONParser.parse(utf8(json), mode: mode)
                switch parsed {
                case .integer(let i):
                    XCTAssertTrue(isIntegerText, json)
                    XCTAssertEqual(Double(i), d, json)
                case .number(let x):
                    XCTAssertFalse(isIntegerText, json)
                    XCTAssertEqual(x.bitPattern, d.bitPattern, "\(json) parsed to \(x)")
                default:
                    XCTFail("\(json) parsed to \(parsed)")
                }
                XCTAssertEqual(try CanonicalJSON.encode(parsed), utf8(json), json)
            }
        }
    }

    // MARK: - Encoder rules

    func testStringEscapes() throws {
        // §3.2.2.2: controls as \b \t \n \f \r or lowercase \u00xx; " and \ escaped; all else raw.
        for c in UInt8(0)..<0x20 {
            let expected: String
            switch c {
            case 0x08: expected = "\\b"
            case 0x09: expected = "\\t"
            case 0x0A: expected = "\\n"
            case 0x0C: expected = "\\f"
            case 0x0D: expected = "\\r"
            default: expected = "\\u00" + String(format: "%02x", c)
            }
            let s = String(UnicodeScalar(c))
            XCTAssertEqual(try CanonicalJSON.encode(.string(s)), utf8("\"\(expected)\""), "control 0x\(String(c, radix: 16))")
        }
        XCTAssertEqual(try CanonicalJSON.encode("\""), utf8(#""\"""#))
        XCTAssertEqual(try CanonicalJSON.encode("\\"), utf8(#""\\""#))
        XCTAssertEqual(try CanonicalJSON.encode("/"), utf8(#""/""#))
        XCTAssertEqual(try CanonicalJSON.encode("\u{7F}"), [0x22, 0x7F, 0x22])
        XCTAssertEqual(try CanonicalJSON.encode("\u{2028}\u{2029}"), [0x22, 0xE2, 0x80, 0xA8, 0xE2, 0x80, 0xA9, 0x22])
        XCTAssertEqual(try CanonicalJSON.encode("\u{1F600}"), [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22])
        XCTAssertEqual(try CanonicalJSON.encode(""), utf8("\"\""))
    }

    func testUnicodeIsNotNormalised() throws {
        // "é" precomposed and decomposed are different strings to JCS.
        XCTAssertEqual(try CanonicalJSON.encode("\u{E9}"), [0x22, 0xC3, 0xA9, 0x22])
        XCTAssertEqual(try CanonicalJSON.encode("e\u{301}"), [0x22, 0x65, 0xCC, 0x81, 0x22])
        XCTAssertEqual(try CanonicalJSON.encode("\u{FB33}"), [0x22, 0xEF, 0xAC, 0xB3, 0x22])
    }

    func testLiteralsAndIntegers() throws {
        XCTAssertEqual(try CanonicalJSON.encode(.null), utf8("null"))
        XCTAssertEqual(try CanonicalJSON.encode(true), utf8("true"))
        XCTAssertEqual(try CanonicalJSON.encode(false), utf8("false"))
        XCTAssertEqual(try CanonicalJSON.encode(0), utf8("0"))
        XCTAssertEqual(try CanonicalJSON.encode(-7), utf8("-7"))
        XCTAssertEqual(try CanonicalJSON.encode(.integer(JSONValue.maxSafeInteger)), utf8("9007199254740991"))
        XCTAssertEqual(try CanonicalJSON.encode(.integer(-JSONValue.maxSafeInteger)), utf8("-9007199254740991"))
        XCTAssertEqual(try CanonicalJSON.encode(.number(-0.0)), utf8("0"))
        XCTAssertEqual(try CanonicalJSON.encode(.number(4.5)), utf8("4.5"))
        XCTAssertEqual(try CanonicalJSON.encode(.number(100)), utf8("100"))
        XCTAssertEqual(try CanonicalJSON.encode(.number(-1e-7)), utf8("-1e-7"))
        XCTAssertEqual(try CanonicalJSON.encode(.number(123e-20)), utf8("1.23e-18"))
    }

    func testContainersAreSortedRecursivelyAndArraysKeepOrder() throws {
        let value: JSONValue = [
            "b": [3, 1, 2, ["z": 1, "y": 2]],
            "a": ["d": [], "c": [:]],
            "": "empty",
            "aa": true,
            "ab": .null,
        ]
        XCTAssertEqual(
            try CanonicalJSON.encode(value),
            utf8(#"{"":"empty","a":{"c":{},"d":[]},"aa":true,"ab":null,"b":[3,1,2,{"y":2,"z":1}]}"#))
        XCTAssertEqual(try CanonicalJSON.encode([:]), utf8("{}"))
        XCTAssertEqual(try CanonicalJSON.encode([]), utf8("[]"))
    }

    func testMemberOrderIsUTF16NotScalarOrder() throws {
        // U+FFFD is one UTF-16 unit (0xFFFD); U+1F600 is the pair D83D DE00, so it sorts first,
        // although its scalar value (and its UTF-8) is larger.
        XCTAssertTrue(CanonicalJSON.precedes("\u{1F600}", "\u{FFFD}"))
        XCTAssertFalse(CanonicalJSON.precedes("\u{FFFD}", "\u{1F600}"))
        XCTAssertTrue(CanonicalJSON.precedes("", "a"))
        XCTAssertTrue(CanonicalJSON.precedes("a", "aa"))
        XCTAssertTrue(CanonicalJSON.precedes("aa", "ab"))
        XCTAssertFalse(CanonicalJSON.precedes("a", "a"))
        XCTAssertTrue(CanonicalJSON.precedes("B", "a"))
        let encoded = try CanonicalJSON.encode(["\u{FFFD}": 1, "\u{1F600}": 2])
        XCTAssertEqual(encoded, [0x7B, 0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22, 0x3A, 0x32, 0x2C,
                                 0x22, 0xEF, 0xBF, 0xBD, 0x22, 0x3A, 0x31, 0x7D])
    }

    func testEncodeThenCanonicalParseRoundTrips() throws {
        let values: [JSONValue] = [
            .null, true, 0, -1, .integer(JSONValue.maxSafeInteger), "", "a\u{0}b\u{1F}c\"\\/\u{7F}",
            ["k": ["nested": [1, "two", ["three": .number(0.5)]]], "\u{E9}": "x", "e\u{301}x": "y"],
            [[[[]]], [:], .number(1e21), .number(-.leastNonzeroMagnitude), .number(0.1)],
        ]
        for value in values {
            let encoded = try CanonicalJSON.encode(value)
            let back = try JSONParser.parse(encoded, mode: .canonical)
            XCTAssertEqual(try CanonicalJSON.encode(back), encoded)
            XCTAssertEqual(back, value, String(decoding: encoded, as: UTF8.self))
        }
    }

    private func firstRange(of needle: [UInt8], in hay: [UInt8], from start: Int) -> Range<Int>? {
        guard needle.count <= hay.count else { return nil }
        var i = start
        while i + needle.count <= hay.count {
            if Array(hay[i..<(i + needle.count)]) == needle { return i..<(i + needle.count) }
            i += 1
        }
        return nil
    }

    func testMemberOrderAgreesWithUTF16OnRandomNames() {
        // precedes decides most pairs by UTF-8 bytes; it must agree with UTF-16 order on all,
        // above all around U+E000-U+FFFF against characters above U+FFFF.
        let alphabet: [String] = ["", "a", "b", "Z", "\u{7F}", "\u{80}", "é", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}",
                                  "\u{EFFF}", "\u{F000}", "\u{FFFD}", "\u{FFFF}", "\u{10000}", "\u{1F600}", "\u{10FFFF}"]
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<20_000 {
            let a = (0..<Int.random(in: 0...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            let b = (0..<Int.random(in: 0...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            XCTAssertEqual(CanonicalJSON.precedes(a, b), a.utf16.lexicographicallyPrecedes(b.utf16),
                           "\(a.unicodeScalars.map { $0.value }) vs \(b.unicodeScalars.map { $0.value })")
        }
    }
}

