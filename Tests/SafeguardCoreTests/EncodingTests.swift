import SafeguardCore
import XCTest

/// Lowercase hex and strict, padded, canonical base64.
final class EncodingTests: XCTestCase {
    struct Base64Vectors: Decodable {
        struct Test: Decodable {
            let input_ascii: String
            let base64: String
        }
        let source: String
        let tests: [Test]
    }

    /// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
    private func sampleBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var x = seed | 1
        return (0..<count).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
    }

    // MARK: - Hex

    func testHexEncodesLowercase() {
        XCTAssertEqual(Hex.encode([]), "")
        XCTAssertEqual(Hex.encode([0x00, 0x01, 0x7F, 0x80, 0xAB, 0xFF]), "00017f80abff")
        XCTAssertEqual(Hex.encode(Array(0...255)), (0...255).map { String(format: "%02x", $0) }.joined())
    }

    func testHexRoundTrip() {
        let all = [UInt8](0...255)
        XCTAssertEqual(Hex.decode(Hex.encode(all)), all)
        for n in 0..<70 {
            let b = sampleBytes(n, seed: UInt64(n) &* 0x9E37_79B9)
            XCTAssertEqual(Hex.decode(Hex.encode(b)), b, "length \(n)")
        }
        XCTAssertEqual(Hex.decode(""), [])
        XCTAssertEqual(Hex.decode("00ff10"), [0x00, 0xFF, 0x10])
    }

    func testHexRejectsNonCanonicalText() {
        for text in ["0", "abc", "AB", "aB", "0G", "zz", " 00", "00 ", "0x00", "-1", "0\u{0}", "é0", "٠٠"] {
            XCTAssertNil(Hex.decode(text), text)
        }
    }

    // MARK: - Base64

    func testRFC4648Vectors() throws {
        let v = try Vectors.load("rfc4648-base64", as: Base64Vectors.self)
        XCTAssertEqual(v.tests.count, 7)
        for t in v.tests {
            XCTAssertEqual(Base64.encode(utf8(t.input_ascii)), t.base64, t.input_ascii)
            XCTAssertEqual(Base64.decode(t.base64), utf8(t.input_ascii), t.base64)
        }
    }

    func testBase64RoundTrip() {
        for n in 0..<100 {
            let b = sampleBytes(n, seed: UInt64(n) &+ 7)
            let text = Base64.encode(b)
            XCTAssertEqual(text.count, (n + 2) / 3 * 4, "length \(n)")
            XCTAssertEqual(Base64.decode(text), b, "length \(n)")
        }
        let all = [UInt8](0...255)
        XCTAssertEqual(Base64.decode(Base64.encode(all)), all)
        XCTAssertEqual(Base64.encode([0xFB, 0xFF, 0xBF]), "+/+/")
    }

    func testBase64RejectsWhitespace() {
        for text in ["Zm9v\n", " Zm9v", "Zm9v ", "Zm 9v", "Zm9v\r\nYmFy", "Zg==\n", "\tZg=="] {
            XCTAssertNil(Base64.decode(text), text.debugDescription)
        }
    }

    func testBase64RejectsBadPadding() {
        for text in ["Zg", "Zm8", "Zg=", "Zm9vYg", "Zm9vYmE", "Zg===", "Zm8==", "Zm9v=", "=", "==", "====",
                     "Zg==Zg==", "Z===", "Zm=v"] {
            XCTAssertNil(Base64.decode(text), text)
        }
    }

    func testBase64RejectsNonCanonicalTrailingBits() {
        XCTAssertEqual(Base64.decode("AA=="), [0x00])
        XCTAssertNil(Base64.decode("AB=="))
        XCTAssertNil(Base64.decode("AP=="))
        XCTAssertEqual(Base64.decode("Zg=="), utf8("f"))
        XCTAssertNil(Base64.decode("Zh=="))
        XCTAssertEqual(Base64.decode("Zm8="), utf8("fo"))
        XCTAssertNil(Base64.decode("Zm9="))
        XCTAssertNil(Base64.decode("Zm+="))
    }

    func testBase64RejectsOtherAlphabetsAndJunk() {
        for text in ["-_-_", "Zm9v_w==", "Zm9v-w==", "Zm9v.", "Zm9v!", "Zm\u{0}v", "Zm9vé==="] {
            XCTAssertNil(Base64.decode(text), text)
        }
    }
}
