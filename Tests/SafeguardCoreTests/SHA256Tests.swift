import SafeguardCore
import XCTest

/// SHA-256 against the FIPS 180-2 examples (and NIST CAVP's empty message).
final class SHA256Tests: XCTestCase {
    struct HashVectors: Decodable {
        struct Test: Decodable {
            let name: String
            let message_ascii: String
            let digest: String
        }
        let source: String
        let tests: [Test]
    }

    private func vectors() throws -> [HashVectors.Test] {
        let v = try Vectors.load("fips180-sha256", as: HashVectors.self)
        XCTAssertEqual(v.tests.count, 3)
        return v.tests
    }

    func testPublishedDigests() throws {
        for t in try vectors() {
            let digest = SHA256.hash(utf8(t.message_ascii))
            XCTAssertEqual(digest.count, SHA256.byteCount)
            XCTAssertEqual(digest, bytes(hex: t.digest), t.name)
        }
    }

    func testBufferPointerForm() throws {
        for t in try vectors() {
            let message = utf8(t.message_ascii)
            let digest = message.withUnsafeBufferPointer { SHA256.hash($0) }
            XCTAssertEqual(digest, bytes(hex: t.digest), t.name)
        }
        // An empty buffer with no base address at all.
        XCTAssertEqual(SHA256.hash(UnsafeBufferPointer<UInt8>(start: nil, count: 0)),
                       bytes(hex: try vectors()[0].digest))
    }

    func testHashOfPartsEqualsHashOfConcatenation() throws {
        for t in try vectors() {
            let message = utf8(t.message_ascii)
            let expected = bytes(hex: t.digest)
            for split in 0...message.count {
                let parts = [Array(message[..<split]), [], Array(message[split...])]
                XCTAssertEqual(SHA256.hash(parts: parts), expected, "\(t.name) split at \(split)")
            }
        }
        XCTAssertEqual(SHA256.hash(parts: []), bytes(hex: try vectors()[0].digest))
    }

    func testDigestDependsOnEveryByte() throws {
        let t = try vectors()[2]
        let message = utf8(t.message_ascii)
        let expected = bytes(hex: t.digest)
        for i in message.indices {
            var changed = message
            changed[i] ^= 0x01
            XCTAssertNotEqual(SHA256.hash(changed), expected, "byte \(i)")
        }
        XCTAssertNotEqual(SHA256.hash(message + [0]), expected)
        XCTAssertNotEqual(SHA256.hash(Array(message.dropLast())), expected)
    }
}
