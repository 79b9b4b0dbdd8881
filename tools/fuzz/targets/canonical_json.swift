// Fuzz target: the JSON parser in both modes and the RFC 8785 serialiser.
// Properties: canonical input re-encodes to itself; anything the lenient parser accepts that
// the ledger may hold (no null, no decimals: Validate.plainData) encodes to canonical bytes
// that the canonical parser accepts and that re-encode unchanged. (Decimals and nulls are
// refused at input, so the canonical parser need not read them.)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let v = try? JSONParser.parse(bytes, mode: .canonical) {
        guard let again = try? CanonicalJSON.encode(v), again == bytes else { fatalError("canonical input did not re-encode to itself") }
    }
    if let v = try? JSONParser.parse(bytes, mode: .lenient), (try? Validate.plainData(v, path: "input")) != nil, let c = try? CanonicalJSON.encode(v) {
        guard let back = try? JSONParser.parse(c, mode: .canonical) else { fatalError("the serialiser wrote bytes the canonical parser refuses") }
        guard let c2 = try? CanonicalJSON.encode(back), c2 == c else { fatalError("canonical encoding is not idempotent") }
    }
    return 0
}
