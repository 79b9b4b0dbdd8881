import XCTest

@testable import SafeguardCore

final class KeyFileTests: XCTestCase {
    func key() -> SigningKey {
        var seed = [UInt8](repeating: 7, count: 32)
        return SigningKey(seed: SecretBytes(consuming: &seed))
    }

    func passphrase(_ s: String) -> SecretBytes {
        var b = Array(s.utf8)
        return SecretBytes(consuming: &b)
    }

    static let cheap = PassphraseBox.Cost(opsLimit: 1, memLimit: 8192)

    func testSealedRoundTripAndWrongPassphrase() throws {
        let bytes = try KeyFile.encode(key(), passphrase: passphrase("right"), cost: Self.cheap)
        XCTAssertTrue(try KeyFile.inspect(bytes).sealed)
        XCTAssertEqual(try KeyFile.decode(bytes) { self.passphrase("right") }.publicKey, key().publicKey)
        XCTAssertThrowsError(try KeyFile.decode(bytes) { self.passphrase("wrong") }) {
            XCTAssertEqual($0 as? KeyFile.Failure, .wrongPassphrase)
        }
        XCTAssertThrowsError(try KeyFile.decode(bytes) { nil }) { XCTAssertEqual($0 as? KeyFile.Failure, .passphraseRequired) }
    }

    func testUnprotectedRoundTrip() throws {
        let bytes = try KeyFile.encode(key(), passphrase: nil)
        XCTAssertFalse(try KeyFile.inspect(bytes).sealed)
        XCTAssertEqual(try KeyFile.decode(bytes) { XCTFail("no passphrase needed"); return nil }.publicKey, key().publicKey)
    }

    func testMalformedFilesAreRefusedNotCrashed() throws {
        let good = String(decoding: try KeyFile.encode(key(), passphrase: nil), as: UTF8.self)
        let seed = try XCTUnwrap(good.range(of: #""seed":"[^"]*""#, options: .regularExpression))
        for replacement in [#""seed":"""#, #""seed":"AAAA""#, #""seed":"not base64!""#] {
            let bad = good.replacingCharacters(in: seed, with: replacement)
            XCTAssertThrowsError(try KeyFile.decode(Array(bad.utf8)) { nil }, replacement)
        }
        // A seed of the right length for another key: the public key check catches it.
        let other = good.replacingCharacters(in: seed, with: #""seed":"\#(Base64.encode([UInt8](repeating: 9, count: 32)))""#)
        XCTAssertThrowsError(try KeyFile.decode(Array(other.utf8)) { nil }) { XCTAssertEqual($0 as? KeyFile.Failure, .publicKeyMismatch) }
        for junk in ["", "{}", "[1]", #"{"format":"something-else"}"#] {
            XCTAssertThrowsError(try KeyFile.decode(Array(junk.utf8)) { nil }, junk)
        }
        let sealed = String(decoding: try KeyFile.encode(key(), passphrase: passphrase("p"), cost: Self.cheap), as: UTF8.self)
        let s = try XCTUnwrap(sealed.range(of: #""sealed_seed":"[^"]*""#, options: .regularExpression))
        XCTAssertThrowsError(try KeyFile.decode(Array(sealed.replacingCharacters(in: s, with: #""sealed_seed":"AAAA""#).utf8)) { self.passphrase("p") })
    }
}

final class PolicyTests: XCTestCase {
    func policy(_ grants: [String]) -> JSONValue {
        ["name": "p", "version": 1, "permissions": ["police": .array(grants.map { .string($0) })]]
    }

    /// The log's rules: a grant is shaped as a type or a whole family, and never one of the log's
    /// own types or the governance family (whether it is known is the catalogue's check).
    func testGrantsMustBeShapedAsTypesOrWholeFamilies() throws {
        XCTAssertNoThrow(try Policy(json: policy(["contact.*", "referral.mase", "governance.legal_hold"])))
        for bad in ["contact.bogus.*", "case.x.y.*", "Contact.recorded", "contact.", ".*", "governance.*", "governance.key_enrolled", "governance.policy_set", "*", ""] {
            XCTAssertThrowsError(try Policy(json: policy([bad])), bad)
        }
        XCTAssertThrowsError(try Policy(json: ["name": "p", "version": 1, "permissions": [:]]))
    }

    func testAPolicyRoundTripsThroughItsJSON() throws {
        let p = try Policy(json: policy(["contact.*", "referral.mase"]))
        XCTAssertEqual(try Policy(json: p.json), p)
        XCTAssertTrue(p.allows(agency: "police", type: "contact.recorded"))
        XCTAssertTrue(p.allows(agency: "police", type: "referral.mase"))
        XCTAssertFalse(p.allows(agency: "police", type: "referral.ewo"))
        XCTAssertFalse(p.allows(agency: "nobody", type: "contact.recorded"))
    }

    /// A key file asking for an absurd key-derivation cost is refused before any derivation runs.
    func testAbsurdKeyDerivationCostsAreRefused() throws {
        var seed = [UInt8](repeating: 5, count: 32)
        let key = SigningKey(seed: SecretBytes(consuming: &seed))
        var pass = Array("synthetic".utf8)
        let sealed = try KeyFile.encode(key, passphrase: SecretBytes(consuming: &pass))
        let text = String(decoding: sealed, as: UTF8.self)
        for (name, value) in [("memlimit", "68719476736"), ("opslimit", "4294967295")] {
            let hostile = text.replacingOccurrences(of: #""\#(name)":[0-9]+"#, with: #""\#(name)":\#(value)"#, options: .regularExpression)
            XCTAssertNotEqual(hostile, text)
            XCTAssertThrowsError(try KeyFile.decode(Array(hostile.utf8), passphrase: { var p = Array("synthetic".utf8); return SecretBytes(consuming: &p) })) {
                XCTAssertTrue("\($0)".contains("beyond safeguard's limits"), "\($0)")
            }
        }
    }
}
