// Fuzz target: secret key files (never with a passphrase, so no key derivation runs: the
// parser and its checks are what is fuzzed).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? KeyFile.inspect(bytes)
    _ = try? KeyFile.decode(bytes, passphrase: { nil })
    return 0
}
