import SafeguardCore
import XCTest

/// The Merkle tree against the published RFC 6962 test set, then exhaustively on a tree of a
/// few hundred leaves against an independent, naive implementation, with every bit of every
/// proof flipped.
final class MerkleTests: XCTestCase {
    struct Set6962: Decodable {
        struct Inclusion: Decodable { let index: Int64; let size: Int64; let proof: [String] }
        struct Consistency: Decodable { let old: Int64; let new: Int64; let proof: [String] }
        let leaves: [String]
        let roots: [String]
        let inclusion: [Inclusion]
        let consistency: [Consistency]
    }

    func testThePublishedRFC6962Vectors() throws {
        let v = try Vectors.load("rfc6962-merkle", as: Set6962.self)
        let tree = InMemoryTree(leafHashes: v.leaves.map { Merkle.leafHash(bytes(hex: $0)) })
        for size in 0...8 {
            XCTAssertEqual(tree.root(size: Int64(size)), bytes(hex: v.roots[size]), "root of size \(size)")
        }
        for t in v.inclusion {
            let proof = t.proof.map { bytes(hex: $0) }
            XCTAssertEqual(tree.inclusionProof(index: t.index, size: t.size), proof, "inclusion \(t.index) in \(t.size)")
            XCTAssertNoThrow(try Merkle.verifyInclusion(index: t.index, size: t.size, leafHash: tree.leaves[Int(t.index)], proof: proof,
                                                        root: bytes(hex: v.roots[Int(t.size)])))
        }
        for t in v.consistency {
            let proof = t.proof.map { bytes(hex: $0) }
            XCTAssertEqual(tree.consistencyProof(old: t.old, new: t.new), proof, "consistency \(t.old) to \(t.new)")
            XCTAssertNoThrow(try Merkle.verifyConsistency(old: t.old, new: t.new, oldRoot: bytes(hex: v.roots[Int(t.old)]),
                                                          newRoot: bytes(hex: v.roots[Int(t.new)]), proof: proof))
        }
    }

    func testEdgeCasesOfThePolicy() throws {
        let tree = InMemoryTree(leafHashes: (0..<5).map { Merkle.leafHash([UInt8($0)]) })
        let (r0, r3, r5) = (tree.root(size: 0), tree.root(size: 3), tree.root(size: 5))
        XCTAssertEqual(r0, SHA256.hash([]))
        // From size 0, any tree is consistent, with an empty proof only.
        XCTAssertNoThrow(try Merkle.verifyConsistency(old: 0, new: 5, oldRoot: r0, newRoot: r5, proof: []))
        XCTAssertThrowsError(try Merkle.verifyConsistency(old: 0, new: 5, oldRoot: r0, newRoot: r5, proof: [r5]))
        // Equal sizes: equal roots, empty proof.
        XCTAssertNoThrow(try Merkle.verifyConsistency(old: 5, new: 5, oldRoot: r5, newRoot: r5, proof: []))
        XCTAssertThrowsError(try Merkle.verifyConsistency(old: 5, new: 5, oldRoot: r3, newRoot: r5, proof: []))
        // Backwards, or hashes that are not 32 bytes.
        XCTAssertThrowsError(try Merkle.verifyConsistency(old: 5, new: 3, oldRoot: r5, newRoot: r3, proof: tree.consistencyProof(old: 3, new: 5)))
        XCTAssertThrowsError(try Merkle.verifyConsistency(old: 3, new: 5, oldRoot: Array(r3.dropLast()), newRoot: r5, proof: tree.consistencyProof(old: 3, new: 5)))
        XCTAssertThrowsError(try Merkle.verifyInclusion(index: 5, size: 5, leafHash: tree.leaves[4], proof: [], root: r5))
        XCTAssertThrowsError(try Merkle.verifyInclusion(index: 0, size: 1, leafHash: [], proof: [], root: tree.root(size: 1)))
    }

    /// MTH by the RFC's definition, over the leaf hashes, with no shortcuts.
    func naiveRoot(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.isEmpty { return SHA256.hash([]) }
        if leaves.count == 1 { return leaves.first! }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let mid = leaves.startIndex + k
        return Merkle.nodeHash(naiveRoot(leaves[leaves.startIndex..<mid]), naiveRoot(leaves[mid...]))
    }

    func testEveryRootAndProofOfAFewHundredLeaves() throws {
        let n = 200
        let tree = InMemoryTree(leafHashes: (0..<n).map { Merkle.leafHash(Array("synthetic leaf \($0)".utf8)) })
        let roots = (0...n).map { tree.root(size: Int64($0)) }
        for size in 0...n { XCTAssertEqual(roots[size], naiveRoot(tree.leaves[0..<size]), "root \(size)") }
        var frontier = MerkleFrontier()
        XCTAssertEqual(frontier.root, roots[0])
        for size in 1...n {
            frontier.append(tree.leaves[size - 1])
            XCTAssertEqual(frontier.root, roots[size], "frontier root \(size)")
        }
        var refused: [String] = []
        for size in 1...n {
            for index in 0..<size {
                let proof = tree.inclusionProof(index: Int64(index), size: Int64(size))
                do { try Merkle.verifyInclusion(index: Int64(index), size: Int64(size), leafHash: tree.leaves[index], proof: proof, root: roots[size]) } catch {
                    refused.append("inclusion \(index) in \(size): \(error)")
                }
            }
            for old in 0...size {
                let proof = tree.consistencyProof(old: Int64(old), new: Int64(size))
                do { try Merkle.verifyConsistency(old: Int64(old), new: Int64(size), oldRoot: roots[old], newRoot: roots[size], proof: proof) } catch {
                    refused.append("consistency \(old) to \(size): \(error)")
                }
            }
        }
        XCTAssertEqual(refused, [], "good proofs refused")
        // Every bit of every proof at the full size, flipped, fails; so does a proof for another
        // index or a tree twice or half the size, with another first root, or with a hash left
        // out or added.
        var flips = 0
        var accepted: [String] = []  // (XCTAssert per flip would dominate the run time)
        for index in 0..<n {
            let proof = tree.inclusionProof(index: Int64(index), size: Int64(n))
            for (i, bit) in allBits(proof) {
                var bad = proof
                bad[i][bit / 8] ^= UInt8(1) << (bit % 8)
                if (try? Merkle.verifyInclusion(index: Int64(index), size: Int64(n), leafHash: tree.leaves[index], proof: bad, root: roots[n])) != nil {
                    accepted.append("inclusion \(index): hash \(i) bit \(bit)")
                }
                flips += 1
            }
            XCTAssertThrowsError(try Merkle.verifyInclusion(index: Int64((index + 1) % n), size: Int64(n), leafHash: tree.leaves[index], proof: proof, root: roots[n]))
            XCTAssertThrowsError(try Merkle.verifyInclusion(index: Int64(index), size: Int64(n), leafHash: tree.leaves[index], proof: proof.dropLast(), root: roots[n]))
            XCTAssertThrowsError(try Merkle.verifyInclusion(index: Int64(index), size: Int64(n), leafHash: tree.leaves[index], proof: proof + [roots[n]], root: roots[n]))
        }
        for old in 1..<n {
            let proof = tree.consistencyProof(old: Int64(old), new: Int64(n))
            for (i, bit) in allBits(proof) {
                var bad = proof
                bad[i][bit / 8] ^= UInt8(1) << (bit % 8)
                if (try? Merkle.verifyConsistency(old: Int64(old), new: Int64(n), oldRoot: roots[old], newRoot: roots[n], proof: bad)) != nil {
                    accepted.append("consistency \(old): hash \(i) bit \(bit)")
                }
                flips += 1
            }
            XCTAssertThrowsError(try Merkle.verifyConsistency(old: Int64(old), new: Int64(n * 2), oldRoot: roots[old], newRoot: roots[n], proof: proof))
            XCTAssertThrowsError(try Merkle.verifyConsistency(old: Int64(old), new: Int64(n / 2), oldRoot: roots[old], newRoot: roots[n], proof: proof))
            XCTAssertThrowsError(try Merkle.verifyConsistency(old: Int64(old), new: Int64(n), oldRoot: roots[old - 1], newRoot: roots[n], proof: proof))
            XCTAssertThrowsError(try Merkle.verifyConsistency(old: Int64(old), new: Int64(n), oldRoot: roots[old], newRoot: roots[n], proof: proof.dropLast()))
        }
        XCTAssertEqual(accepted, [], "flipped proofs accepted")
        XCTAssertGreaterThan(flips, 700_000)
    }

    func allBits(_ proof: [[UInt8]]) -> [(Int, Int)] {
        proof.indices.flatMap { i in (0..<(proof[i].count * 8)).map { (i, $0) } }
    }
}
