// Fuzz target: tlog-proof files (inclusion) and consistency proof files, as check-proof and
// the witness read them; a parsed proof formats back to the same text.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let p = try? ProofText.Inclusion(text: bytes) {
        guard (try? ProofText.Inclusion(text: p.text)) == p else { fatalError("an inclusion proof did not round-trip") }
        if p.proof.count < 64 { _ = try? Merkle.verifyInclusion(index: p.index, size: p.index + 1, leafHash: Merkle.leafHash(p.extra ?? []), proof: p.proof, root: p.proof.first ?? []) }
    }
    if let p = try? ProofText.Consistency(text: bytes) {
        guard (try? ProofText.Consistency(text: p.text)) == p else { fatalError("a consistency proof did not round-trip") }
    }
    return 0
}
