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
        // UTF-8 byte order is code point order, which is UTF-16 order except between a
        // character from U+E000 to U+FFFF and one above U+FFFF (a surrogate pair in UTF-16).
        // Their UTF-8 lead bytes are 0xEE and up, so below that the bytes decide.
        var x = a.utf8.makeIterator(), y = b.utf8.makeIterator()
        while true {
            switch (x.next(), y.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case let (p?, q?):
                if p == q { continue }
                if p < 0xEE && q < 0xEE { return p < q }
                return a.utf16.lexicographicallyPrecedes(b.utf16)
            }
        }
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

    public static func writeString(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { writeString($0, into: &out) }
    }

    /// Writes UTF-8 `bytes` as a JSON string: `"` and `\\` escaped, control characters as
    /// the short escapes or `\u00XX`, everything else as it is.
    public static func writeString(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Runs that need no escaping (nearly everything) are copied whole.
        var run = 0
        for i in 0..<bytes.count {
            let byte = bytes[i]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
            run = i + 1
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            default:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<bytes.count]))
        out.append(UInt8(ascii: "\""))
    }

    /// Writes an integer in decimal (its canonical JSON form).
    public static func writeInteger(_ v: Int64, into out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, least significant first
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
        }
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
