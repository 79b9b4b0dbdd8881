// Fuzz target: the event decoders a verifier runs on stored bytes. Properties: a decoded
// envelope re-encodes to exactly the stored bytes; the direct decoder (Envelope(canonical:))
// accepts only what the general one (canonical JSON, then the envelope's members) accepts,
// and gives the same envelope.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let general = (try? JSONParser.parse(bytes, mode: .canonical)).flatMap { try? Envelope(json: $0) }
    if let direct = Envelope(canonical: bytes) {
        guard let general, general == direct else { fatalError("the direct decoder accepted bytes the general one refuses, or read them differently") }
    }
    guard let e = general else { return 0 }
    guard let again = try? e.canonicalBytes(), again == bytes else { fatalError("a decoded envelope did not re-encode to its bytes") }
    return 0
}
