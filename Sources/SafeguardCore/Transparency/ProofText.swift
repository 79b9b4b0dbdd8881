/// The text forms of proofs: an inclusion proof as c2sp.org/tlog-proof@v1 (with the entry's
/// bytes as its `extra` data, so the proof carries what it proves), and a consistency proof
/// as the body of a c2sp.org/tlog-witness add-checkpoint request (`old N`, the proof hashes,
/// a blank line, the new checkpoint), which is what a witness reads.
public enum ProofText {
    public static let inclusionHeader = "c2sp.org/tlog-proof@v1"
    /// tlog-witness allows at most 63 consistency proof lines.
    public static let maxConsistencyLines = 63

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let why: String
        public init(_ why: String) { self.why = why }
        public var description: String { "not a valid proof file: \(why)" }
    }

    public struct Inclusion: Equatable, Sendable {
        public let extra: [UInt8]?
        public let index: Int64
        public let proof: [[UInt8]]
        /// The signed checkpoint note, verbatim.
        public let checkpoint: [UInt8]
        public init(extra: [UInt8]?, index: Int64, proof: [[UInt8]], checkpoint: [UInt8]) {
            self.extra = extra; self.index = index; self.proof = proof; self.checkpoint = checkpoint
        }

        public var text: [UInt8] {
            var lines = [inclusionHeader]
            if let extra { lines.append("extra " + Base64.encode(extra)) }
            lines.append("index \(index)")
            lines += proof.map(Base64.encode)
            return Array((lines.joined(separator: "\n") + "\n\n").utf8) + checkpoint
        }

        public init(text: [UInt8]) throws {
            let (head, checkpoint) = try ProofText.split(text)
            var lines = head[...]
            guard lines.first == inclusionHeader else { throw Failure("the first line must be '\(inclusionHeader)'") }
            lines = lines.dropFirst()
            var extra: [UInt8]? = nil
            if let l = lines.first, l.hasPrefix("extra ") {
                guard let e = Base64.decode(String(l.dropFirst(6))) else { throw Failure("the extra data is not base64") }
                extra = e
                lines = lines.dropFirst()
            }
            guard let l = lines.first, l.hasPrefix("index "), let index = ProofText.decimal(String(l.dropFirst(6))) else {
                throw Failure("the index line must be 'index N' with N in decimal")
            }
            self.init(extra: extra, index: index, proof: try ProofText.hashes(lines.dropFirst()), checkpoint: checkpoint)
        }
    }

    public struct Consistency: Equatable, Sendable {
        public let old: Int64
        public let proof: [[UInt8]]
        public let checkpoint: [UInt8]
        public init(old: Int64, proof: [[UInt8]], checkpoint: [UInt8]) { self.old = old; self.proof = proof; self.checkpoint = checkpoint }

        public var text: [UInt8] {
            Array((["old \(old)"] + proof.map(Base64.encode)).map { $0 + "\n" }.joined().utf8) + [0x0A] + checkpoint
        }

        public init(text: [UInt8]) throws {
            let (head, checkpoint) = try ProofText.split(text)
            guard let l = head.first, l.hasPrefix("old "), let old = ProofText.decimal(String(l.dropFirst(4))) else {
                throw Failure("the first line must be 'old N' with N in decimal")
            }
            let proof = try ProofText.hashes(head.dropFirst())
            guard proof.count <= maxConsistencyLines else { throw Failure("more than \(maxConsistencyLines) proof lines") }
            self.init(old: old, proof: proof, checkpoint: checkpoint)
        }
    }

    /// The lines before the first blank line, and everything after it (the checkpoint).
    static func split(_ text: [UInt8]) throws -> ([String], [UInt8]) {
        guard let s = String(validating: text, as: UTF8.self) else { throw Failure("it is not UTF-8 text") }
        guard let blank = s.utf8.indices.first(where: { i in s.utf8[i] == 0x0A && s.utf8.index(after: i) < s.utf8.endIndex && s.utf8[s.utf8.index(after: i)] == 0x0A })
        else { throw Failure("there is no blank line before the checkpoint") }
        let head = String(s[..<blank]).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let checkpoint = Array(s.utf8[s.utf8.index(blank, offsetBy: 2)...])
        return (head, checkpoint)
    }

    static func hashes(_ lines: ArraySlice<String>) throws -> [[UInt8]] {
        try lines.map { l in
            guard let h = Base64.decode(l), h.count == Merkle.hashSize else { throw Failure("a proof line is not a base64 SHA-256 hash") }
            return h
        }
    }

    /// A decimal with no leading zeroes (other than "0").
    static func decimal(_ s: String) -> Int64? {
        guard let v = Int64(s), v >= 0, String(v) == s else { return nil }
        return v
    }
}
