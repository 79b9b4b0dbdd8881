import Foundation
import SafeguardCore
import XCTest

/// Pins `sameBytes` (a memcmp over `withUTF8`) and `Actor`'s hash against the byte-wise
/// definitions they replaced, for the strings verification compares: empty, small (inline) and
/// large, with NUL, non-ASCII, canonically equivalent forms, and strings made by Foundation or
/// cut from others.
final class SameBytesTests: XCTestCase {
    static let corpus: [String] = {
        let base = ["", "a", "a\u{0}", "a\u{0}b", "a\u{0}c", "\u{0}", "caf\u{e9}", "cafe\u{301}", "\u{212b}", "\u{c5}", "A\u{30a}",
                    "police", "police ", "Police", "ｐｏｌｉｃｅ", "😀", "\u{feff}police", String(repeating: "x", count: 15),
                    String(repeating: "x", count: 16), String(repeating: "é", count: 40), String(repeating: "e\u{301}", count: 40),
                    "701c8047c319a89b63a74bacffb08158", "701c8047c319a89b63a74bacffb08159"]
        // The same texts made other ways: through NSString, cut from a longer string, decoded from bytes.
        return base + base.map { NSString(string: $0).substring(from: 0) } + base.map { String(("#" + $0).dropFirst()) }
            + base.map { String(decoding: Array($0.utf8), as: UTF8.self) }
    }()

    func testSameBytesIsByteEquality() {
        for a in Self.corpus {
            for b in Self.corpus {
                XCTAssertEqual(sameBytes(a, b), Array(a.utf8) == Array(b.utf8), "\(Array(a.utf8)) vs \(Array(b.utf8))")
            }
        }
        XCTAssertFalse(sameBytes("caf\u{e9}", "cafe\u{301}"), "canonically equivalent is not the same bytes")
        XCTAssertTrue("caf\u{e9}" == "cafe\u{301}")
        XCTAssertTrue(sameBytes(nil as String?, nil))
        XCTAssertFalse(sameBytes("" as String?, nil))
    }

    func testActorsHashAgreesWithItsEquality() {
        let actors = Self.corpus.prefix(12).flatMap { a in
            [Actor(agency: "police", role: "practitioner", practitioner: a, keyID: "701c8047c319a89b63a74bacffb08158"),
             Actor(agency: "police", role: a, practitioner: "PC 0001", keyID: "701c8047c319a89b63a74bacffb08158")]
        }
        for x in actors {
            for y in actors where x == y { XCTAssertEqual(x.hashValue, y.hashValue) }
        }
        // Fields' boundaries count: ("ab", "c") is not ("a", "bc").
        let ab = Actor(agency: "ab", role: "c", practitioner: "p", keyID: "k"), abc = Actor(agency: "a", role: "bc", practitioner: "p", keyID: "k")
        XCTAssertNotEqual(ab, abc)
        XCTAssertEqual(Set([ab, abc]).count, 2)
        let pre = Actor(agency: "police", role: "practitioner", practitioner: "Ren\u{e9}e", keyID: "k")
        let post = Actor(agency: "police", role: "practitioner", practitioner: "Rene\u{301}e", keyID: "k")
        XCTAssertNotEqual(pre, post)
        XCTAssertEqual(Set([pre, post, pre]).count, 2)
    }
}

