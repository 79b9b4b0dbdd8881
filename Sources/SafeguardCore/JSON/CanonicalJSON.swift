/// RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes an event's signature covers.
///
/// - Objects: members sorted by their names' UTF-16 code units (§3.2.3), no whitespace.
/// - Strings (§3.2.2.2): `"` and `\` escaped; U+0008, U+0009, U+000A, U+000C, U+000D as
///   `\b \t \n \f \r`; other controls below U+0020 as `\u00xx` (lowercase hex); everything
///   else written as its UTF-8 bytes, unescaped.
/// - Numbers (§3.2.2.3): ECMAScript `Number.prototype.toString` of the IEEE 754 double.
/// - Literals: `true`, `false`, `null`.
public enum CanonicalJSON {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case nonFiniteNumber
        public var description: String { "JSON cannot hold NaN or infinity" }
    }

    /// The canonical UTF-8 bytes of `value`.
    public static func encode(_ value: JSONValue) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(512)
        try write(value, into: &out)
        return out
    }

    /// UTF-16 code-unit order, as §3.2.3 requires (not Swift's `String` ordering).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    static func write(_ value: JSONValue, into out: inout [UInt8]) throws {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let i): out.append(contentsOf: String(i).utf8)
        case .number(let d): out.append(contentsOf: try formatNumber(d).utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                try write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (n, key) in members.keys.sorted(by: precedes).enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                try write(members[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// ECMAScript Number::toString (ECMA-262 §6.1.6.1.20) built on Swift's shortest
    /// round-trip digits, which are the digits that algorithm asks for.
    public static func formatNumber(_ d: Double) throws -> String {
        guard d.isFinite else { throw Failure.nonFiniteNumber }
        if d == 0 { return "0" }  // also -0
        let text = "\(d.magnitude)"  // e.g. "4.5", "0.002", "1e+30", "5e-324"
        let parts = text.split(separator: "e", maxSplits: 1)
        let exponent = parts.count == 2 ? Int(parts[1])! : 0
        let mantissa = parts[0].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let intPart = String(mantissa[0])
        let fracPart = mantissa.count == 2 ? String(mantissa[1]) : ""
        // value = 0.DIGITS × 10^n
        var digits = Array(intPart + fracPart)
        var n = intPart.count + exponent
        while digits.first == "0" { digits.removeFirst(); n -= 1 }
        while digits.last == "0" { digits.removeLast() }
        let k = digits.count
        let ds = String(digits)
        var result: String
        if k <= n && n <= 21 {
            result = ds + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            result = String(digits[0..<n]) + "." + String(digits[n...])
        } else if -6 < n && n <= 0 {
            result = "0." + String(repeating: "0", count: -n) + ds
        } else {
            let e = n - 1
            let sign = e < 0 ? "-" : "+"
            result = k == 1 ? ds : String(digits[0]) + "." + String(digits[1...])
            result += "e" + sign + String(e.magnitude)
        }
        return d < 0 ? "-" + result : result
    }
}
