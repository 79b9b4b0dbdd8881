// Fuzz target: signed notes, checkpoints, cosignatures and verifier keys (what witnesses and
// auditors read from others), opened against a fixed log key and witness key.

let logKey = FuzzKeys.key(7)
let log = NoteVerifier(name: "example.org/fuzz-log", publicKey: logKey.publicKey)!
let witness = Cosigner(name: "example.org/fuzz-witness", publicKey: FuzzKeys.key(8).publicKey)!

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (text, signatures) = try? SignedNote.parse(bytes) {
        guard (try? SignedNote.parse(SignedNote.format(text, signatures))) != nil else { fatalError("a parsed note did not format back to a note") }
        if let c = Checkpoint(body: text) {
            guard Checkpoint(body: c.body) == c else { fatalError("a checkpoint did not round-trip") }
            _ = try? witness.verifiedTime(of: c, in: signatures)
        }
    }
    _ = try? Checkpoint.open(bytes, log: log)
    if let s = String(validating: bytes, as: UTF8.self) {
        _ = NoteVerifier(verifierKey: s)
        _ = Cosigner(verifierKey: s)
    }
    return 0
}
