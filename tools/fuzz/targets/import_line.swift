// Fuzz target: one line of 'safeguard import' / the body of 'safeguard append' (the input
// form of an event), and a details record built from it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let json = try? JSONParser.parse(bytes, mode: .lenient), let draft = try? EventDraft(json: json) else { return 0 }
    guard let sealed = try? SealedDetails(draft.details, salt: [UInt8](repeating: 1, count: 32)) else { fatalError("accepted details could not be sealed") }
    guard sealed.problem(against: sealed.digest) == nil else { fatalError("a sealed record does not match its own digest") }
    return 0
}
