/// Reads one member of a canonical JSON object straight from its bytes, without building the
/// JSON tree: for passes that need a few values of many stored envelopes (docs/FORMAT.md §4).
/// The bytes must already be trusted to be canonical (e.g. proved by a hash); on anything
/// else the answer is nil, never a wrong value.
public enum CanonicalScan {
    /// The raw bytes of the value of `name`, a member of the top-level object of `bytes`: for a
    /// string, its contents between the quotes (nil if it holds an escape); for an object or
    /// array, the value with its brackets.
    public static func member(_ name: String, of bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let key = Array(name.utf8)
        var i = bytes.startIndex
        guard i < bytes.endIndex, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        while i < bytes.endIndex, bytes[i] == UInt8(ascii: "\"") {
            guard let keyEnd = stringEnd(bytes, from: i) else { return nil }
            let k = bytes[(i + 1)..<keyEnd]
            i = keyEnd + 1
            guard i < bytes.endIndex, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            guard let valueEnd = valueEnd(bytes, from: i) else { return nil }
            if k.elementsEqual(key) {
                if bytes[i] == UInt8(ascii: "\"") {
                    let inner = bytes[(i + 1)..<(valueEnd - 1)]
                    return inner.contains(UInt8(ascii: "\\")) ? nil : inner
                }
                return bytes[i..<valueEnd]
            }
            i = valueEnd
            guard i < bytes.endIndex else { return nil }
            if bytes[i] == UInt8(ascii: "}") { return nil }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
        return nil
    }

    /// The index of the closing quote of the string opening at `start`.
    static func stringEnd(_ b: ArraySlice<UInt8>, from start: Int) -> Int? {
        var i = start + 1
        while i < b.endIndex {
            switch b[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): return i
            default: i += 1
            }
        }
        return nil
    }

    /// The index just past the value starting at `start`.
    static func valueEnd(_ b: ArraySlice<UInt8>, from start: Int) -> Int? {
        guard start < b.endIndex else { return nil }
        switch b[start] {
        case UInt8(ascii: "\""):
            return stringEnd(b, from: start).map { $0 + 1 }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0, i = start
            while i < b.endIndex {
                switch b[i] {
                case UInt8(ascii: "\""): guard let e = stringEnd(b, from: i) else { return nil }; i = e
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return nil
        default:
            var i = start
            while i < b.endIndex, b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: "}"), b[i] != UInt8(ascii: "]") { i += 1 }
            return i
        }
    }
}
