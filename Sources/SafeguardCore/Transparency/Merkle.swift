/// The Merkle tree over the log (RFC 6962 §2.1, RFC 9162 §2.1): leaves are the entries in
/// sequence order, a leaf's hash is the entry hash `SHA-256(0x00 || entry)`, an interior node
/// is `SHA-256(0x01 || left || right)`, and the root of the empty tree is `SHA-256("")`.
///
/// Proofs are built from the hashes of complete subtrees (`Subtrees`): the `2^level` leaves
/// from `index * 2^level`. A store that keeps those can give any root or proof by reading
/// O(log n) of them; nothing here walks the log.
public enum Merkle {
    public static let hashSize = 32

    public static func leafHash(_ data: [UInt8]) -> [UInt8] { SHA256.hash([0x00] + data) }

    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1 + left.count + right.count) { b in
            b[0] = 0x01
            _ = UnsafeMutableBufferPointer(rebasing: b[1...]).initialize(from: left)
            _ = UnsafeMutableBufferPointer(rebasing: b[(1 + left.count)...]).initialize(from: right)
            return SHA256.hash(UnsafeBufferPointer(b))
        }
    }

    public static let emptyRoot = SHA256.hash([])

    /// Hashes of complete subtrees: `hash(level, index)` covers leaves
    /// `[index << level, (index + 1) << level)`.
    public typealias Subtrees = (_ level: Int, _ index: Int64) throws -> [UInt8]

    /// The root of the tree of the first `size` leaves.
    public static func root(size: Int64, _ subtrees: Subtrees) rethrows -> [UInt8] {
        size == 0 ? emptyRoot : try hash(0, size, subtrees)
    }

    /// MTH(D[start:end]) for a range that RFC 6962's recursion produces (`start` is a sum of
    /// powers of two each at least as large as the range, so a power-of-two range is a complete
    /// subtree): one stored hash per binary digit of its size, combined right to left.
    static func hash(_ start: Int64, _ end: Int64, _ subtrees: Subtrees) rethrows -> [UInt8] {
        let n = end - start
        precondition(n > 0)
        if n & (n - 1) == 0 {
            precondition(start % n == 0, "not a complete subtree")
            let level = n.trailingZeroBitCount
            return try subtrees(level, start >> level)
        }
        let k = largestPowerOfTwo(below: n)
        return nodeHash(try hash(start, start + k, subtrees), try hash(start + k, end, subtrees))
    }

    /// The largest power of two smaller than `n` (n > 1).
    static func largestPowerOfTwo(below n: Int64) -> Int64 {
        precondition(n > 1)
        return Int64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// The inclusion proof (RFC 6962 PATH) of leaf `index` in the tree of `size` leaves,
    /// nearest sibling first.
    public static func inclusionProof(index: Int64, size: Int64, _ subtrees: Subtrees) rethrows -> [[UInt8]] {
        precondition(index >= 0 && index < size)
        var proof: [[UInt8]] = []
        var (start, end, m) = (Int64(0), size, index)
        // Walk down from the root, collecting the sibling at each split; the proof lists them leaf first.
        while end - start > 1 {
            let k = largestPowerOfTwo(below: end - start)
            if m < k {
                proof.append(try hash(start + k, end, subtrees))
                end = start + k
            } else {
                proof.append(try hash(start, start + k, subtrees))
                start += k
                m -= k
            }
        }
        return proof.reversed()
    }

    /// The consistency proof (RFC 6962 PROOF) from the tree of `old` leaves to the tree of
    /// `new` leaves; empty when `old` is 0 or equal to `new`.
    public static func consistencyProof(old: Int64, new: Int64, _ subtrees: Subtrees) rethrows -> [[UInt8]] {
        precondition(old >= 0 && old <= new)
        if old == 0 || old == new { return [] }
        var proof: [[UInt8]] = []
        var (start, end, m, complete) = (Int64(0), new, old, true)
        while true {
            let n = end - start
            if m == n {
                if !complete { proof.append(try hash(start, end, subtrees)) }
                break
            }
            let k = largestPowerOfTwo(below: n)
            if m <= k {
                proof.append(try hash(start + k, end, subtrees))
                end = start + k
            } else {
                proof.append(try hash(start, start + k, subtrees))
                start += k
                m -= k
                complete = false
            }
        }
        return proof.reversed()
    }

    /// Why a proof does not verify.
    public enum ProofError: Error, Equatable, CustomStringConvertible {
        case indexBeyondSize
        case wrongHashSize
        case wrongLength
        case rootMismatch
        case sizeGoesBackwards
        public var description: String {
            switch self {
            case .indexBeyondSize: return "the leaf index is not below the tree size"
            case .wrongHashSize: return "a hash is not 32 bytes"
            case .wrongLength: return "the proof has the wrong number of hashes for these sizes"
            case .rootMismatch: return "the proof does not lead to the given root"
            case .sizeGoesBackwards: return "the second tree is smaller than the first"
            }
        }
    }

    /// The root that an inclusion proof leads to (RFC 9162 §2.1.3.2, steps 1-4).
    public static func rootFromInclusionProof(index: Int64, size: Int64, leafHash: [UInt8], proof: [[UInt8]]) throws -> [UInt8] {
        guard index >= 0, index < size else { throw ProofError.indexBeyondSize }
        guard leafHash.count == hashSize, proof.allSatisfy({ $0.count == hashSize }) else { throw ProofError.wrongHashSize }
        var (fn, sn, r) = (index, size - 1, leafHash)
        for p in proof {
            guard sn != 0 else { throw ProofError.wrongLength }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw ProofError.wrongLength }
        return r
    }

    /// Checks that leaf `index` with hash `leafHash` is in the tree of `size` leaves with `root`.
    public static func verifyInclusion(index: Int64, size: Int64, leafHash: [UInt8], proof: [[UInt8]], root: [UInt8]) throws {
        guard root.count == hashSize else { throw ProofError.wrongHashSize }
        guard try rootFromInclusionProof(index: index, size: size, leafHash: leafHash, proof: proof) == root else { throw ProofError.rootMismatch }
    }

    /// Checks that the tree of `new` leaves with `newRoot` extends the tree of `old` leaves with
    /// `oldRoot` (RFC 9162 §2.1.4.2). By this project's policy (docs/FORMAT.md), consistency
    /// from size 0 holds with an empty proof, as in C2SP tlog-witness; equal sizes need equal
    /// roots and an empty proof.
    public static func verifyConsistency(old: Int64, new: Int64, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]) throws {
        guard oldRoot.count == hashSize, newRoot.count == hashSize, proof.allSatisfy({ $0.count == hashSize }) else { throw ProofError.wrongHashSize }
        guard old >= 0, old <= new else { throw ProofError.sizeGoesBackwards }
        if old == 0 {
            guard proof.isEmpty else { throw ProofError.wrongLength }
            // Two trees of size 0 are the same (empty) tree.
            if new == 0, oldRoot != newRoot { throw ProofError.rootMismatch }
            return
        }
        if old == new {
            guard proof.isEmpty else { throw ProofError.wrongLength }
            guard oldRoot == newRoot else { throw ProofError.rootMismatch }
            return
        }
        guard !proof.isEmpty else { throw ProofError.wrongLength }
        var path = proof
        if old & (old - 1) == 0 { path.insert(oldRoot, at: 0) }
        var (fn, sn) = (old - 1, new - 1)
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var (fr, sr) = (path[0], path[0])
        for c in path.dropFirst() {
            guard sn != 0 else { throw ProofError.wrongLength }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw ProofError.wrongLength }
        guard fr == oldRoot, sr == newRoot else { throw ProofError.rootMismatch }
    }
}

/// A tree over leaf hashes held in memory: for tests, and for checking a store against.
public struct InMemoryTree {
    public private(set) var leaves: [[UInt8]] = []
    /// levels[l][i]: the complete subtree hashes, level 0 being the leaves.
    private var levels: [[[UInt8]]] = [[]]

    public init(leafHashes: [[UInt8]] = []) { for h in leafHashes { append(h) } }

    public var size: Int64 { Int64(leaves.count) }

    /// Adds a leaf hash, completing the subtrees it closes.
    public mutating func append(_ leafHash: [UInt8]) {
        leaves.append(leafHash)
        levels[0].append(leafHash)
        var level = 0
        while levels[level].count % 2 == 0 {
            let n = levels[level].count
            let parent = Merkle.nodeHash(levels[level][n - 2], levels[level][n - 1])
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].append(parent)
            level += 1
        }
    }

    public func subtree(_ level: Int, _ index: Int64) -> [UInt8] { levels[level][Int(index)] }

    public func root(size: Int64? = nil) -> [UInt8] { Merkle.root(size: size ?? self.size, subtree) }

    public func inclusionProof(index: Int64, size: Int64? = nil) -> [[UInt8]] { Merkle.inclusionProof(index: index, size: size ?? self.size, subtree) }

    public func consistencyProof(old: Int64, new: Int64? = nil) -> [[UInt8]] { Merkle.consistencyProof(old: old, new: new ?? self.size, subtree) }
}

/// The right edge of a growing tree: the roots of its complete subtrees, largest first, one
/// per binary digit of its size. O(log n) memory gives the root of everything appended, so a
/// verifier streaming the log computes the tree head without storing the tree.
public struct MerkleFrontier: Sendable {
    public private(set) var size: Int64 = 0
    /// (level, hash) of each complete subtree on the edge, largest (leftmost) first.
    private var edge: [(Int, [UInt8])] = []

    public init() {}

    /// The right edge of the tree of `size` leaves, read from its complete subtrees (O(log n)
    /// of them): to go on appending to a tree whose leaves are not at hand.
    public init(size: Int64, _ subtrees: Merkle.Subtrees) rethrows {
        var start: Int64 = 0
        for level in stride(from: 62, through: 0, by: -1) where size & (Int64(1) << level) != 0 {
            edge.append((level, try subtrees(level, start >> level)))
            start += Int64(1) << level
        }
        self.size = size
    }

    /// The edge's subtree hashes, largest (leftmost) first: with the size, all it takes to go
    /// on appending (an auditor keeps them: `init(size:edge:)`).
    public var edgeHashes: [[UInt8]] { edge.map { $0.1 } }

    /// The frontier of a tree of `size` leaves whose edge is `edge` (as `edgeHashes` gives it),
    /// or nil if `edge` does not have one 32-byte hash per binary 1 digit of `size`.
    public init?(size: Int64, edge: [[UInt8]]) {
        guard size >= 0, edge.count == size.nonzeroBitCount, edge.allSatisfy({ $0.count == Merkle.hashSize }) else { return nil }
        var hashes = edge.makeIterator()
        self.init(size: size) { _, _ in hashes.next()! }
    }

    /// Adds a leaf; returns the complete subtrees above the leaves that it completes, as
    /// (level, index, hash), lowest first.
    @discardableResult
    public mutating func append(_ leafHash: [UInt8]) -> [(level: Int, index: Int64, hash: [UInt8])] {
        var (level, hash) = (0, leafHash)
        var completed: [(level: Int, index: Int64, hash: [UInt8])] = []
        while let last = edge.last, last.0 == level {
            edge.removeLast()
            hash = Merkle.nodeHash(last.1, hash)
            level += 1
            completed.append((level, size >> level, hash))
        }
        edge.append((level, hash))
        size += 1
        return completed
    }

    /// How many complete subtrees above the leaves a tree of `size` leaves has.
    public static func nodeCount(size: Int64) -> Int64 {
        var (n, total) = (size >> 1, Int64(0))
        while n > 0 { total += n; n >>= 1 }
        return total
    }

    /// The root of the tree so far: the edge's subtrees combined right to left.
    public var root: [UInt8] {
        guard var hash = edge.last?.1 else { return Merkle.emptyRoot }
        for (_, left) in edge.dropLast().reversed() { hash = Merkle.nodeHash(left, hash) }
        return hash
    }
}
