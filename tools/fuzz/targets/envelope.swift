// Fuzz target: the event decoder a verifier runs on stored bytes (canonical JSON, then the
// envelope's members). Property: a decoded envelope re-encodes to exactly the stored bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let json = try? JSONParser.parse(bytes, mode: .canonical), let e = try? Envelope(json: json) else { return 0 }
    guard let again = try? e.canonicalBytes(), again == bytes else { fatalError("a decoded envelope did not re-encode to its bytes") }
    return 0
}
