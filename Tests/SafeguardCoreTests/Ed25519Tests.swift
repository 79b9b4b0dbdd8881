import SafeguardCore
import XCTest

/// Ed25519 against RFC 8032 §7.1, and tamper detection: any changed bit fails verification.
final class Ed25519Tests: XCTestCase {
    struct SignatureVectors: Decodable {
        struct Test: Decodable {
            let name: String
            let secret_key: String
            let public_key: String
            let message: String
            let signature: String
        }
        let source: String
        let tests: [Test]
    }

    private func vectors() throws -> [SignatureVectors.Test] {
        let v = try Vectors.load("rfc8032-ed25519", as: SignatureVectors.self)
        XCTAssertEqual(v.tests.map(\.name), ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"])
        return v.tests
    }

    private func signingKey(_ t: SignatureVectors.Test) -> SigningKey {
        var seedBytes = bytes(hex: t.secret_key)
        return SigningKey(seed: SecretBytes(consuming: &seedBytes))
    }

    private func flipped(_ b: [UInt8], bit: Int) -> [UInt8] {
        var c = b
        c[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
        return c
    }

    func testRFC8032KnownAnswers() throws {
        for t in try vectors() {
            let message = bytes(hex: t.message)
            let expectedSignature = bytes(hex: t.signature)
            let key = signingKey(t)
            XCTAssertEqual(key.publicKey.bytes, bytes(hex: t.public_key), t.name)
            let signature = key.sign(message)
            XCTAssertEqual(signature, expectedSignature, t.name)
            XCTAssertEqual(key.sign(message), signature, "\(t.name): Ed25519 signing is deterministic")
            let publicKey = try XCTUnwrap(PublicKey(bytes: bytes(hex: t.public_key)))
            XCTAssertTrue(publicKey.verify(signature: expectedSignature, message: message), t.name)
            XCTAssertTrue(message.withUnsafeBufferPointer { publicKey.verify(signature: expectedSignature, message: $0) },
                          t.name)
        }
        XCTAssertEqual(bytes(hex: try vectors()[3].message).count, 1023)
    }

    func testSeedIsConsumedAndKept() throws {
        let t = try vectors()[1]
        var seedBytes = bytes(hex: t.secret_key)
        let key = SigningKey(seed: SecretBytes(consuming: &seedBytes))
        XCTAssertEqual(seedBytes, [UInt8](repeating: 0, count: 32), "the caller's copy of the seed is wiped")
        XCTAssertEqual(key.seed.withUnsafeBytes { Array($0) }, bytes(hex: t.secret_key))
    }

    func testEverySignatureBitFlipFails() throws {
        for t in try vectors() {
            let publicKey = try XCTUnwrap(PublicKey(bytes: bytes(hex: t.public_key)))
            let message = bytes(hex: t.message)
            let signature = bytes(hex: t.signature)
            for bit in 0..<(signature.count * 8) {
                XCTAssertFalse(publicKey.verify(signature: flipped(signature, bit: bit), message: message),
                               "\(t.name): signature bit \(bit)")
            }
        }
    }

    func testEveryPublicKeyBitFlipFails() throws {
        for t in try vectors() {
            let keyBytes = bytes(hex: t.public_key)
            let message = bytes(hex: t.message)
            let signature = bytes(hex: t.signature)
            for bit in 0..<(keyBytes.count * 8) {
                let publicKey = try XCTUnwrap(PublicKey(bytes: flipped(keyBytes, bit: bit)))
                XCTAssertFalse(publicKey.verify(signature: signature, message: message), "\(t.name): key bit \(bit)")
            }
        }
    }

    func testEveryMessageBitFlipFails() throws {
        for t in try vectors() where t.message.count / 2 <= 64 {
            let publicKey = try XCTUnwrap(PublicKey(bytes: bytes(hex: t.public_key)))
            let message = bytes(hex: t.message)
            let signature = bytes(hex: t.signature)
            for bit in 0..<(message.count * 8) {
                XCTAssertFalse(publicKey.verify(signature: signature, message: flipped(message, bit: bit)),
                               "\(t.name): message bit \(bit)")
            }
            XCTAssertFalse(publicKey.verify(signature: signature, message: message + [0]), "\(t.name): appended byte")
            if !message.isEmpty {
                XCTAssertFalse(publicKey.verify(signature: signature, message: Array(message.dropLast())),
                               "\(t.name): truncated")
            }
        }
    }

    func testSignatureDoesNotVerifyUnderAnotherKeyOrMessage() throws {
        let tests = try vectors()
        for a in tests {
            for b in tests where a.name != b.name {
                let keyB = try XCTUnwrap(PublicKey(bytes: bytes(hex: b.public_key)))
                XCTAssertFalse(keyB.verify(signature: bytes(hex: a.signature), message: bytes(hex: a.message)),
                               "\(a.name) signature under \(b.name) key")
                let keyA = try XCTUnwrap(PublicKey(bytes: bytes(hex: a.public_key)))
                XCTAssertFalse(keyA.verify(signature: bytes(hex: a.signature), message: bytes(hex: b.message)),
                               "\(a.name) signature over \(b.name) message")
            }
        }
    }

    func testWrongLengthSignaturesAreRefused() throws {
        let t = try vectors()[2]
        let publicKey = try XCTUnwrap(PublicKey(bytes: bytes(hex: t.public_key)))
        let message = bytes(hex: t.message)
        let signature = bytes(hex: t.signature)
        XCTAssertFalse(publicKey.verify(signature: [], message: message))
        XCTAssertFalse(publicKey.verify(signature: Array(signature.dropLast()), message: message))
        XCTAssertFalse(publicKey.verify(signature: signature + [0], message: message))
        XCTAssertFalse(publicKey.verify(signature: [UInt8](repeating: 0, count: 64), message: message))
    }

    func testPublicKeyForms() throws {
        let t = try vectors()[0]
        let raw = bytes(hex: t.public_key)
        XCTAssertNil(PublicKey(bytes: []))
        XCTAssertNil(PublicKey(bytes: Array(raw.dropLast())))
        XCTAssertNil(PublicKey(bytes: raw + [0]))
        let key = try XCTUnwrap(PublicKey(bytes: raw))
        XCTAssertEqual(key.base64.count, 44)
        XCTAssertEqual(PublicKey(base64: key.base64), key)
        XCTAssertNil(PublicKey(base64: Base64.encode(Array(raw.dropLast()))))
        XCTAssertNil(PublicKey(base64: String(key.base64.dropLast())))
        // Key id: the first 16 bytes of SHA-256(public key), lowercase hex.
        // For RFC 8032 TEST 1's key: SHA-256 = 21fe31dfa154a261626bf854046fd227... (computed with Python hashlib).
        XCTAssertEqual(key.keyID, "21fe31dfa154a261626bf854046fd227")
        XCTAssertNotEqual(key.keyID, try XCTUnwrap(PublicKey(bytes: bytes(hex: try vectors()[1].public_key))).keyID)
    }

    func testGeneratedKeysSignAndVerify() {
        let a = SigningKey.generate()
        let b = SigningKey.generate()
        XCTAssertNotEqual(a.publicKey, b.publicKey)
        let message = utf8("safeguard")
        let signature = a.sign(message)
        XCTAssertEqual(signature.count, SigningKey.signatureByteCount)
        XCTAssertTrue(a.publicKey.verify(signature: signature, message: message))
        XCTAssertFalse(b.publicKey.verify(signature: signature, message: message))
        // A key rebuilt from the seed is the same key.
        var seed = a.seed.withUnsafeBytes { Array($0) }
        let again = SigningKey(seed: SecretBytes(consuming: &seed))
        XCTAssertEqual(again.publicKey, a.publicKey)
        XCTAssertEqual(again.sign(message), signature)
    }
}
