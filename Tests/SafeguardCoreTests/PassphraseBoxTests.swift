import SafeguardCore
import XCTest

/// Argon2id + XChaCha20-Poly1305 key-file protection. Tests use libsodium's minimum Argon2id
/// cost (1 pass over 8 KiB) so that each derivation takes well under a millisecond.
final class PassphraseBoxTests: XCTestCase {
    private let fast = PassphraseBox.Cost(opsLimit: 1, memLimit: 8192)

    private func secret(_ b: [UInt8]) -> SecretBytes {
        var copy = b
        return SecretBytes(consuming: &copy)
    }

    private func contents(_ s: SecretBytes) -> [UInt8] { s.withUnsafeBytes { Array($0) } }

    private let seed: [UInt8] = Array(0..<32).map { UInt8($0) &* 7 &+ 3 }

    private func assertWrongPassphrase(_ box: PassphraseBox, _ passphrase: String, _ what: String,
                                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try box.open(passphrase: secret(utf8(passphrase))), what, file: file, line: line) { error in
            XCTAssertEqual(error as? PassphraseBox.Failure, .wrongPassphrase, what, file: file, line: line)
        }
    }

    func testSealOpenRoundTrip() throws {
        let box = try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("correct horse battery staple")), cost: fast)
        XCTAssertEqual(box.cost, fast)
        XCTAssertEqual(box.salt.count, 16)
        XCTAssertEqual(box.nonce.count, 24)
        XCTAssertEqual(box.sealed.count, seed.count + PassphraseBox.tagByteCount)
        XCTAssertEqual(PassphraseBox.tagByteCount, 16)
        XCTAssertFalse(box.sealed.windowsOfBytes(seed.count).contains(seed), "the secret appears in clear")
        let opened = try box.open(passphrase: secret(utf8("correct horse battery staple")))
        XCTAssertEqual(contents(opened), seed)
    }

    func testRoundTripOfOtherSizesAndUnicodePassphrase() throws {
        for n in [1, 16, 64, 100] {
            let s = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 31 + n) }
            let box = try PassphraseBox.seal(secret(s), passphrase: secret(utf8("pässwörd 🔑")), cost: fast)
            XCTAssertEqual(contents(try box.open(passphrase: secret(utf8("pässwörd 🔑")))), s, "size \(n)")
        }
    }

    func testWrongPassphraseThrows() throws {
        let box = try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("hunter2")), cost: fast)
        assertWrongPassphrase(box, "hunter3", "a different passphrase")
        assertWrongPassphrase(box, "Hunter2", "a different case")
        assertWrongPassphrase(box, "hunter2 ", "a trailing space")
        assertWrongPassphrase(box, "hunter", "a prefix")
        XCTAssertEqual(contents(try box.open(passphrase: secret(utf8("hunter2")))), seed)
    }

    func testEveryAlteredByteOfSealedFails() throws {
        let box = try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("pw")), cost: fast)
        for i in box.sealed.indices {
            for mask in [UInt8(0x01), 0x80, 0xFF] {
                var altered = box
                altered.sealed[i] ^= mask
                assertWrongPassphrase(altered, "pw", "sealed byte \(i) ^ \(mask)")
            }
        }
    }

    func testAlteredSaltNonceOrCostFails() throws {
        let box = try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("pw")), cost: fast)
        for i in box.salt.indices {
            var altered = box
            altered.salt[i] ^= 0x01
            assertWrongPassphrase(altered, "pw", "salt byte \(i)")
        }
        for i in box.nonce.indices {
            var altered = box
            altered.nonce[i] ^= 0x01
            assertWrongPassphrase(altered, "pw", "nonce byte \(i)")
        }
        var moreOps = box
        moreOps.cost.opsLimit = 2
        assertWrongPassphrase(moreOps, "pw", "a different Argon2id pass count")
        var moreMemory = box
        moreMemory.cost.memLimit = 16384
        assertWrongPassphrase(moreMemory, "pw", "a different Argon2id memory size")
    }

    func testFreshSaltAndNonceEachTime() throws {
        let a = try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("pw")), cost: fast)
        let b = try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("pw")), cost: fast)
        XCTAssertNotEqual(a.salt, b.salt)
        XCTAssertNotEqual(a.nonce, b.nonce)
        XCTAssertNotEqual(a.sealed, b.sealed)
    }

    func testMalformedBoxes() throws {
        let box = try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("pw")), cost: fast)
        var shortSalt = box
        shortSalt.salt.removeLast()
        var longNonce = box
        longNonce.nonce.append(0)
        var tagOnly = box
        tagOnly.sealed = Array(box.sealed.prefix(PassphraseBox.tagByteCount))
        var empty = box
        empty.sealed = []
        for (what, b) in [("short salt", shortSalt), ("long nonce", longNonce), ("tag only", tagOnly), ("empty", empty)] {
            XCTAssertThrowsError(try b.open(passphrase: secret(utf8("pw"))), what) { error in
                XCTAssertEqual(error as? PassphraseBox.Failure, .malformed, what)
            }
        }
    }

    func testCostBelowLibsodiumMinimumFailsKeyDerivation() {
        let tooSmall = PassphraseBox.Cost(opsLimit: 1, memLimit: 1024)
        XCTAssertThrowsError(try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("pw")), cost: tooSmall)) { error in
            XCTAssertEqual(error as? PassphraseBox.Failure, .keyDerivationFailed)
        }
        let noPasses = PassphraseBox.Cost(opsLimit: 0, memLimit: 8192)
        XCTAssertThrowsError(try PassphraseBox.seal(secret(seed), passphrase: secret(utf8("pw")), cost: noPasses)) { error in
            XCTAssertEqual(error as? PassphraseBox.Failure, .keyDerivationFailed)
        }
    }
}

private extension Array where Element == UInt8 {
    func windowsOfBytes(_ n: Int) -> [[UInt8]] {
        guard n <= count else { return [] }
        return (0...(count - n)).map { Array(self[$0..<($0 + n)]) }
    }
}
