// Fuzz target: a line of an evidence bundle's entries.jsonl; a read line writes back unchanged.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let item = try? EvidenceBundle.Item(line: bytes) else { return 0 }
    guard item.line == bytes else { fatalError("an evidence line did not write back to itself") }
    return 0
}
