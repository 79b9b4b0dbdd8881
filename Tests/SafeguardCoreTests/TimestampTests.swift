import SafeguardCore
import XCTest

/// `YYYY-MM-DDTHH:MM:SSZ` envelope timestamps, and RFC 3339 input converted to them.
/// Expected epoch seconds were computed independently with Python's `datetime`.
final class TimestampTests: XCTestCase {
    private let known: [(String, Int64)] = [
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59Z", -1),
        ("2026-11-30T09:15:00Z", 1_796_030_100),
        ("1900-01-01T00:00:00Z", -2_208_988_800),
        ("9999-12-31T23:59:59Z", 253_402_300_799),
        ("2024-02-29T12:00:00Z", 1_709_208_000),
        ("2000-02-29T00:00:00Z", 951_782_400),
        ("2025-12-31T23:30:00Z", 1_767_223_800),
    ]

    func testKnownInstants() throws {
        for (text, seconds) in known {
            let t = try XCTUnwrap(Timestamp(canonical: text), text)
            XCTAssertEqual(t.seconds, seconds, text)
            XCTAssertEqual(Timestamp(seconds: seconds).description, text)
            XCTAssertEqual(Timestamp(rfc3339: text), t)
            XCTAssertEqual(t.date, String(text.prefix(10)))
        }
    }

    func testCanonicalRoundTripAcrossTheRange() throws {
        // Every 7 days plus an odd number of seconds, from 1900 to 2100.
        var s: Int64 = -2_208_988_800
        while s < 4_102_444_800 {
            let t = Timestamp(seconds: s)
            let text = t.description
            XCTAssertEqual(text.utf8.count, 20)
            XCTAssertEqual(Timestamp(canonical: text), t, text)
            s += 7 * 86_400 + 3_607
        }
    }

    func testLeapYears() {
        // Both parsers: the RFC 3339 one must refuse the day itself, not just fail a round trip.
        for parse in [{ Timestamp(canonical: $0) }, { Timestamp(rfc3339: $0) }] as [(String) -> Timestamp?] {
            XCTAssertNotNil(parse("2024-02-29T00:00:00Z"))
            XCTAssertNil(parse("2026-02-29T00:00:00Z"))
            XCTAssertNotNil(parse("2000-02-29T00:00:00Z"), "divisible by 400")
            XCTAssertNil(parse("1900-02-29T00:00:00Z"), "divisible by 100 but not 400")
            XCTAssertNil(parse("2100-02-29T00:00:00Z"), "divisible by 100 but not 400")
            XCTAssertNil(parse("2024-02-30T00:00:00Z"))
        }
        XCTAssertNil(Timestamp(rfc3339: "2026-02-29T00:30:00+01:00"), "the local date must exist")
        XCTAssertEqual(Timestamp(canonical: "2024-03-01T00:00:00Z")!.seconds
                       - Timestamp(canonical: "2024-02-28T00:00:00Z")!.seconds, 2 * 86_400)
        XCTAssertEqual(Timestamp(canonical: "2026-03-01T00:00:00Z")!.seconds
                       - Timestamp(canonical: "2026-02-28T00:00:00Z")!.seconds, 86_400)
    }

    func testMonthLengths() {
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        for (i, days) in lengths.enumerated() {
            let m = String(format: "%02d", i + 1)
            XCTAssertNotNil(Timestamp(canonical: "2026-\(m)-\(days)T00:00:00Z"), "2026-\(m)-\(days)")
            XCTAssertNil(Timestamp(canonical: "2026-\(m)-\(days + 1)T00:00:00Z"), "2026-\(m)-\(days + 1)")
            XCTAssertNil(Timestamp(rfc3339: "2026-\(m)-\(days + 1)T00:00:00Z"), "2026-\(m)-\(days + 1)")
            XCTAssertNil(Timestamp(canonical: "2026-\(m)-00T00:00:00Z"), "2026-\(m)-00")
            XCTAssertNil(Timestamp(rfc3339: "2026-\(m)-00T00:00:00Z"), "2026-\(m)-00")
        }
    }

    func testOffsetsAreConvertedToUTC() {
        let cases = [
            ("2026-11-30T10:15:00+01:00", "2026-11-30T09:15:00Z"),
            ("2026-11-30T09:15:00+00:00", "2026-11-30T09:15:00Z"),
            ("2026-11-30T09:15:00-00:00", "2026-11-30T09:15:00Z"),
            ("2026-11-30T03:45:00-05:30", "2026-11-30T09:15:00Z"),
            ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00Z"),
            ("2024-02-28T23:00:00-02:00", "2024-02-29T01:00:00Z"),
            ("2026-11-30T09:15:00+23:59", "2026-11-29T09:16:00Z"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(Timestamp(rfc3339: input)?.description, expected, input)
        }
    }

    func testFractionalSecondsAreTruncated() {
        XCTAssertEqual(Timestamp(rfc3339: "2026-11-30T09:15:00.999Z")?.description, "2026-11-30T09:15:00Z")
        XCTAssertEqual(Timestamp(rfc3339: "2026-11-30T09:15:59.999999999Z")?.description, "2026-11-30T09:15:59Z")
        XCTAssertEqual(Timestamp(rfc3339: "2026-11-30T10:15:00.5+01:00")?.description, "2026-11-30T09:15:00Z")
        XCTAssertEqual(Timestamp(rfc3339: "1969-12-31T23:59:59.5Z")?.seconds, -1)
    }

    func testRFC3339AllowsLowercaseSeparators() {
        XCTAssertEqual(Timestamp(rfc3339: "2026-11-30t09:15:00z")?.description, "2026-11-30T09:15:00Z")
    }

    func testRejectsMalformedInput() {
        let bad = [
            "", "garbage", "2026-11-30", "2026-11-30T09:15Z", "2026-11-30T09:15:00", "2026-11-30 09:15:00Z",
            "2026-11-30_09:15:00Z", "2026/11/30T09:15:00Z", "26-11-30T09:15:00Z", "2026-1-30T09:15:00Z",
            "+2026-11-30T09:15:00Z", "2026-11-30T9:15:00Z", "2026-11-30T09:15:00ZZ", "2026-11-30T09:15:00Z ",
            " 2026-11-30T09:15:00Z", "2026-11-30T09:15:00.Z", "2026-11-30T09:15:00.123", "2026-11-30T09:15:00+01",
            "2026-11-30T09:15:00+0100", "2026-11-30T09:15:00+01:0", "2026-11-30T09:15:00+24:00",
            "2026-11-30T09:15:00+01:60", "2026-11-30T09:15:00UTC", "2026-11-30T09:15:00+01:00Z",
            "1899-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
            "2026-04-31T00:00:00Z", "2026-01-32T00:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30T23:60:00Z",
            "2026-11-30T23:59:60Z", "2026-11-30T-1:00:00Z", "２０２６-11-30T09:15:00Z", "2026-11-30T09:15:00\u{0}",
        ]
        for text in bad {
            XCTAssertNil(Timestamp(rfc3339: text), text.debugDescription)
            XCTAssertNil(Timestamp(canonical: text), text.debugDescription)
        }
    }

    func testCanonicalAcceptsOnlyTheEnvelopeForm() {
        XCTAssertNotNil(Timestamp(canonical: "2026-11-30T09:15:00Z"))
        let notCanonical = [
            "2026-11-30T10:15:00+01:00", "2026-11-30T09:15:00+00:00", "2026-11-30T09:15:00.000Z",
            "2026-11-30T09:15:00.5Z", "2026-11-30t09:15:00Z", "2026-11-30T09:15:00z", "2026-11-30t09:15:00z",
        ]
        for text in notCanonical {
            XCTAssertNotNil(Timestamp(rfc3339: text), text)
            XCTAssertNil(Timestamp(canonical: text), text)
        }
    }

    func testOrdering() throws {
        let a = try XCTUnwrap(Timestamp(canonical: "2026-11-30T09:15:00Z"))
        let b = try XCTUnwrap(Timestamp(canonical: "2026-11-30T09:15:01Z"))
        XCTAssertLessThan(a, b)
        XCTAssertFalse(b < a)
        XCTAssertEqual(Timestamp(rfc3339: "2026-11-30T10:15:00+01:00"), a)
        XCTAssertEqual([b, a].sorted(), [a, b])
    }
}
