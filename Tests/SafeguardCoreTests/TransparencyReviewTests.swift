import SafeguardCore
import XCTest

/// Edge cases from an independent review of the Merkle, note and checkpoint code.
final class TransparencyReviewTests: XCTestCase {
    func testInclusionBindsIndexAndSize() throws {
        let N = 24  // every (index, size) pair against every other: O(N^4) checks
        let tree = InMemoryTree(leafHashes: (0..<N).map { Merkle.leafHash([UInt8($0)]) })
        let roots = (0...N).map { tree.root(size: Int64($0)) }
        var bad = 0
        for n in 1...N { for i in 0..<n {
            let p = tree.inclusionProof(index: Int64(i), size: Int64(n))
            let leaf = tree.leaves[i]
            for n2 in 1...N { for i2 in 0..<n2 where (i2, n2) != (i, n) {
                if (try? Merkle.verifyInclusion(index: Int64(i2), size: Int64(n2), leafHash: leaf, proof: p, root: roots[n2])) != nil {
                    // Only acceptable if leaf i2 == leaf i (never here) and i2 == i (same leaf in a tree with the same root)
                    if i2 != i || roots[n2] != roots[n] { bad += 1 }
                }
            }}
        }}
        XCTAssertEqual(bad, 0)
    }

    func testConsistencyBindsSizes() throws {
        let N = 16
        let tree = InMemoryTree(leafHashes: (0..<N).map { Merkle.leafHash([UInt8($0)]) })
        let roots = (0...N).map { tree.root(size: Int64($0)) }
        // A second tree that differs from leaf 0.
        let other = InMemoryTree(leafHashes: (0..<N).map { Merkle.leafHash([UInt8($0 + 100)]) })
        var bad = 0
        for m in 1...N { for n in m...N {
            let p = tree.consistencyProof(old: Int64(m), new: Int64(n))
            // with a wrong old root (other tree), must fail unless m == 0
            if (try? Merkle.verifyConsistency(old: Int64(m), new: Int64(n), oldRoot: other.root(size: Int64(m)), newRoot: roots[n], proof: p)) != nil { bad += 1 }
            for m2 in 1...N { for n2 in m2...N where (m2, n2) != (m, n) {
                if (try? Merkle.verifyConsistency(old: Int64(m2), new: Int64(n2), oldRoot: other.root(size: Int64(m2)), newRoot: roots[n2], proof: p)) != nil { bad += 1 }
            }}
        }}
        XCTAssertEqual(bad, 0)
    }

    func testHugeSizesDoNotTrap() throws {
        let h = [UInt8](repeating: 7, count: 32)
        let proof = [[UInt8]](repeating: h, count: 63)
        for (i, n) in [(Int64.max - 1, Int64.max), (0, Int64.max), (Int64.max / 2, Int64.max), (1 << 62, (1 << 62) + 1)] {
            XCTAssertThrowsError(try Merkle.verifyInclusion(index: i, size: n, leafHash: h, proof: proof, root: h))
        }
        for (m, n) in [(Int64.max - 1, Int64.max), (1, Int64.max), (1 << 62, Int64.max), (Int64.max, Int64.max)] {
            _ = try? Merkle.verifyConsistency(old: m, new: n, oldRoot: h, newRoot: h, proof: proof)
        }
        XCTAssertThrowsError(try Merkle.verifyInclusion(index: -1, size: 1, leafHash: h, proof: [], root: h))
        XCTAssertThrowsError(try Merkle.verifyConsistency(old: -1, new: 1, oldRoot: h, newRoot: h, proof: []))
    }

    /// Size 0 with any root: verifyConsistency(0, 0, A, B) passes although the doc says equal sizes need equal roots.
    func testSizeZeroHasOneRoot() throws {
        let a = [UInt8](repeating: 1, count: 32), b = [UInt8](repeating: 2, count: 32)
        XCTAssertThrowsError(try Merkle.verifyConsistency(old: 0, new: 0, oldRoot: a, newRoot: b, proof: []), "0->0 with different roots accepted")
        let body = Array("o\n0\n\(Base64.encode(a))\n".utf8)
        XCTAssertNil(Checkpoint(body: body), "checkpoint of size 0 whose root is not SHA-256(\"\") accepted")
    }

    /// Names are compared with Swift String ==, i.e. Unicode canonical equivalence, not bytes.
    func testNamesMatchByteForByte() throws {
        let key = SigningKey.generate()
        let nfc = "caf\u{E9}.example/log", nfd = "cafe\u{301}.example/log"
        let v = try XCTUnwrap(NoteVerifier(name: nfc, publicKey: key.publicKey))
        let c = try XCTUnwrap(Checkpoint(origin: nfd, size: 1, root: [UInt8](repeating: 0, count: 32)))
        let sig = try SignedNote.sign(c.body, name: nfc, key: key)
        let forged = SignedNote.Signature(name: nfd, keyID: sig.keyID, bytes: sig.bytes)
        let note = SignedNote.format(c.body, [forged])
        let opened = try? Checkpoint.open(note, log: v)
        XCTAssertNil(opened, "a signature line named \(nfd) (bytes differ) was taken as \(nfc)'s; origin \(opened?.checkpoint.origin ?? "") == log name: \(opened?.checkpoint.origin == v.name)")
    }
}
