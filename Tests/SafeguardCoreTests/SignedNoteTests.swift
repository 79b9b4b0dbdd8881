import SafeguardCore
import XCTest

/// Signed notes against the published examples: Go's sumdb/note test key PeterNeumann (its
/// note reproduced byte for byte) and the examples of c2sp.org/signed-note and
/// c2sp.org/tlog-cosignature (parsed; their public keys are not published).
final class SignedNoteTests: XCTestCase {
    let peterSecret = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    let peterVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    let peterNote = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n"
        + "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    /// The Go private-key form: PRIVATE+KEY+NAME+HEX8+base64(0x01 || seed).
    func peterKey() throws -> SigningKey {
        let blob = try XCTUnwrap(Base64.decode(String(peterSecret.split(separator: "+", maxSplits: 4)[4])))
        XCTAssertEqual(blob.first, 0x01)
        var seed = Array(blob.dropFirst())
        return SigningKey(seed: SecretBytes(consuming: &seed))
    }

    func testPeterNeumannIsReproducedByteForByte() throws {
        let key = try peterKey()
        let v = try XCTUnwrap(NoteVerifier(name: "PeterNeumann", publicKey: key.publicKey))
        XCTAssertEqual(v.verifierKey, peterVerifier)
        XCTAssertEqual(v.keyID, 0xc74f20a3)
        XCTAssertEqual(NoteVerifier(verifierKey: peterVerifier), v)
        let signature = try SignedNote.sign(Array(text.utf8), name: "PeterNeumann", key: key)
        XCTAssertEqual(String(decoding: SignedNote.format(Array(text.utf8), [signature]), as: UTF8.self), peterNote)
        let opened = try SignedNote.open(Array(peterNote.utf8), trusting: [v])
        XCTAssertEqual(String(decoding: opened.text, as: UTF8.self), text)
        XCTAssertEqual(opened.signedBy, [v])
    }

    func testTheC2SPExamplesParse() throws {
        let note = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n"
            + "\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
        let (text, signatures) = try SignedNote.parse(Array(note.utf8))
        XCTAssertEqual(String(decoding: text, as: UTF8.self), "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n",
                       "the text runs to the last blank line and keeps the one inside it")
        XCTAssertEqual(signatures.map(\.name), ["quasimodo.example/salvatore"])
        XCTAssertEqual(signatures[0].bytes.count, 64)
        XCTAssertThrowsError(try SignedNote.open(Array(note.utf8), trusting: [NoteVerifier(verifierKey: peterVerifier)!])) {
            XCTAssertEqual($0 as? SignedNote.Failure, .noKnownSignature)
        }
        // A checkpoint with a log signature and a witness cosignature (type 0x04: 8-byte time || signature).
        let cosigned = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
            + "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        let parsed = try SignedNote.parse(Array(cosigned.utf8))
        XCTAssertEqual(parsed.signatures.map(\.name), ["example.com/behind-the-sofa"])
        XCTAssertEqual(String(decoding: parsed.text, as: UTF8.self).split(separator: "\n").count, 3)
    }

    func testChangedNotesAndUnknownKeysAndBadFormsAreRefused() throws {
        let v = NoteVerifier(verifierKey: peterVerifier)!
        var changed = Array(peterNote.utf8)
        changed[3] ^= 0x01
        XCTAssertThrowsError(try SignedNote.open(changed, trusting: [v])) { XCTAssertEqual($0 as? SignedNote.Failure, .badSignature(name: "PeterNeumann")) }
        // Same name, another key: ignored (so no known signature).
        var other = [UInt8](repeating: 7, count: 32)
        let stranger = NoteVerifier(name: "PeterNeumann", publicKey: SigningKey(seed: SecretBytes(consuming: &other)).publicKey)!
        XCTAssertThrowsError(try SignedNote.open(Array(peterNote.utf8), trusting: [stranger])) { XCTAssertEqual($0 as? SignedNote.Failure, .noKnownSignature) }
        // A verifier key whose key ID does not match its name and key is refused.
        XCTAssertNil(NoteVerifier(verifierKey: peterVerifier.replacingOccurrences(of: "c74f20a3", with: "c74f20a4")))
        XCTAssertNil(NoteVerifier(name: "has space", publicKey: v.publicKey))
        XCTAssertNil(NoteVerifier(name: "a+b", publicKey: v.publicKey))
        for bad in [
            text,  // no signatures
            text + "\n",  // a blank line and nothing after
            "no final newline\n\n\u{2014} PeterNeumann AAAA",
            "tab\tinside\n\n\u{2014} PeterNeumann x08go/ZJ=\n",
            text + "\n- PeterNeumann x08go/ZJkuBS9UG/Sffcv\n",  // a hyphen, not an em dash
            text + "\n\u{2014} PeterNeumann not-base64!\n",
        ] {
            XCTAssertThrowsError(try SignedNote.parse(Array(bad.utf8)), bad)
        }
        XCTAssertThrowsError(try SignedNote.sign(Array("no newline".utf8), name: "PeterNeumann", key: try peterKey()))
    }
}

/// Checkpoints and witness cosignatures (c2sp.org/tlog-checkpoint, tlog-cosignature).
final class CheckpointTests: XCTestCase {
    func key(_ b: UInt8) -> SigningKey {
        var s = [UInt8](repeating: b, count: 32)
        return SigningKey(seed: SecretBytes(consuming: &s))
    }

    func testTheSpecExampleParsesWithItsCosignatureTime() throws {
        let note = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
            + "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
            + "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
        let (text, signatures) = try SignedNote.parse(Array(note.utf8))
        let c = try XCTUnwrap(Checkpoint(body: text))
        XCTAssertEqual(c.origin, "example.com/behind-the-sofa")
        XCTAssertEqual(c.size, 20852163)
        XCTAssertEqual(c.body, text, "the body is reproduced byte for byte")
        let witness = try XCTUnwrap(signatures.last)
        XCTAssertEqual(witness.bytes.count, 8 + 64)
        XCTAssertEqual(witness.bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, 1679315147, "the spec's cosigned time")
    }

    func testSignOpenAndCosign() throws {
        let log = key(3), w = key(4)
        let c = try XCTUnwrap(Checkpoint(origin: "safeguard.example/partnership-a", size: 5, root: SHA256.hash(Array("x".utf8))))
        XCTAssertEqual(String(decoding: c.body, as: UTF8.self), "safeguard.example/partnership-a\n5\n\(Base64.encode(c.root))\n")
        let verifier = try XCTUnwrap(NoteVerifier(name: c.origin, publicKey: log.publicKey))
        var note = try c.sign(name: c.origin, key: log)
        XCTAssertEqual(try Checkpoint.open(note, log: verifier).checkpoint, c)
        // A witness cosigns; its line is added to the note; the log's signature still verifies.
        let cosig = try XCTUnwrap(Cosigner.cosign(c, name: "witness.example/w1", key: w, time: 1_800_000_000))
        note += Array(cosig.line.utf8)
        let (opened, signatures) = try Checkpoint.open(note, log: verifier)
        let cosigner = try XCTUnwrap(Cosigner(name: "witness.example/w1", publicKey: w.publicKey))
        XCTAssertEqual(Cosigner(verifierKey: cosigner.verifierKey), cosigner)
        XCTAssertTrue(cosigner.verifierKey.hasPrefix("witness.example/w1+"))
        XCTAssertEqual(try cosigner.verifiedTime(of: opened, in: signatures), 1_800_000_000)
        // The cosignature does not carry over to another checkpoint, and a note verifier of type 0x01 does not accept it.
        let other = try XCTUnwrap(Checkpoint(origin: c.origin, size: 6, root: c.root))
        XCTAssertThrowsError(try cosigner.verifiedTime(of: other, in: signatures))
        XCTAssertNil(NoteVerifier(verifierKey: cosigner.verifierKey))
        // Malformed bodies.
        for bad in ["o\n05\n\(Base64.encode(c.root))\n", "o\n5\nAAAA\n", "o\n5\n", "\n5\n\(Base64.encode(c.root))\n", "o\n-1\n\(Base64.encode(c.root))\n"] {
            XCTAssertNil(Checkpoint(body: Array(bad.utf8)), bad)
        }
    }
}

/// The text forms of inclusion (tlog-proof) and consistency (tlog-witness request) proofs.
final class ProofTextTests: XCTestCase {
    func testTheSpecsExamplesParseAndRoundTrip() throws {
        // c2sp.org/tlog-witness, add-checkpoint: the example request body.
        let request = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
            + "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\n"
            + "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
            + "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        let c = try ProofText.Consistency(text: Array(request.utf8))
        XCTAssertEqual(c.old, 20852014)
        XCTAssertEqual(c.proof.count, 4)
        XCTAssertEqual(Checkpoint(body: try SignedNote.parse(c.checkpoint).text)?.size, 20852163)
        XCTAssertEqual(String(decoding: c.text, as: UTF8.self), request, "written back byte for byte")

        let tree = InMemoryTree(leafHashes: (0..<9).map { Merkle.leafHash([UInt8($0)]) })
        let proof = ProofText.Inclusion(extra: [1, 2, 3], index: 5, proof: tree.inclusionProof(index: 5), checkpoint: Array("o\n9\n\(Base64.encode(tree.root()))\n\n\u{2014} o AAAA\n".utf8))
        let text = String(decoding: proof.text, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("c2sp.org/tlog-proof@v1\nextra AQID\nindex 5\n"), text)
        XCTAssertEqual(try ProofText.Inclusion(text: proof.text), proof)
        for bad in ["c2sp.org/tlog-proof@v2\nindex 5\n\nx", "c2sp.org/tlog-proof@v1\nindex 05\n\nx", "c2sp.org/tlog-proof@v1\nindex 5\nnot-a-hash\n\nx",
                    "c2sp.org/tlog-proof@v1\nindex 5\n"] {
            XCTAssertThrowsError(try ProofText.Inclusion(text: Array(bad.utf8)), bad)
        }
        XCTAssertThrowsError(try ProofText.Consistency(text: Array("old -1\n\nx".utf8)))
    }
}
