/// A strict JSON parser (RFC 8259 with I-JSON's limits: valid UTF-8, no lone surrogates,
/// no duplicate member names) with two modes:
///
/// - `.lenient` reads what a person or another program writes (any whitespace, any valid
///   escapes, any member order);
/// - `.canonical` accepts only RFC 8785 output byte for byte: no whitespace, members in
///   strictly increasing UTF-16 order, only the escapes JCS writes, numbers in ECMAScript
///   form. A stored envelope that parses in this mode is canonical, so verification never
///   re-serialises anything.
public struct JSONParser {
    public enum Mode: Sendable { case lenient, canonical }

    /// Where and why parsing stopped. `offset` is a 0-based byte offset.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
    public static let maxDepth = 64

    public static func parse(_ bytes: [UInt8], mode: Mode = .lenient) throws(Failure) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buf throws(Failure) in
            var p = JSONParser(buf: buf, mode: mode)
            p.skipWhitespace()
            let v = try p.value(depth: 0)
            p.skipWhitespace()
            guard p.i == buf.count else { throw p.fail("unexpected text after the JSON value") }
            return v
        }
    }

    /// The canonical value that starts at `start` in `buf`, as `parse(_:mode: .canonical)`
    /// would read it there `depth` levels deep, and the offset just after it: for a decoder that
    /// reads the rest of a document itself (`Envelope(canonical:)`).
    static func canonicalValue(in buf: UnsafeBufferPointer<UInt8>, at start: Int, depth: Int) throws(Failure) -> (value: JSONValue, end: Int) {
        var p = JSONParser(buf: buf, mode: .canonical)
        p.i = start
        let v = try p.value(depth: depth)
        return (v, p.i)
    }

    private let buf: UnsafeBufferPointer<UInt8>
    private let mode: Mode
    private var i = 0

    private init(buf: UnsafeBufferPointer<UInt8>, mode: Mode) {
        self.buf = buf
        self.mode = mode
    }

    private func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

    private mutating func skipWhitespace() {
        guard mode == .lenient else { return }
        while i < buf.count, buf[i] == 0x20 || buf[i] == 0x0A || buf[i] == 0x0D || buf[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("JSON nested deeper than \(Self.maxDepth) levels") }
        guard i < buf.count else { throw fail("unexpected end of JSON") }
        switch buf[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(Self.show(buf[i]))'")
        }
    }

    private static func show(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7f ? String(UnicodeScalar(b)) : "0x" + Hex.encode([b])
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= buf.count else { throw fail("unexpected end of JSON") }
        for k in 0..<n where buf[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws(Failure) {
        guard i < buf.count else { throw fail("unexpected end of JSON, expected \(what)") }
        guard buf[i] == c else { throw fail("expected \(what)") }
        i += 1
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        i += 1
        skipWhitespace()
        if i < buf.count, buf[i] == UInt8(ascii: "}") { i += 1; return .object([:]) }
        // Collected in order, then made a dictionary of the right size at once. Names in
        // strictly increasing order cannot repeat byte for byte, so only names out of order
        // (lenient mode) are compared as they come; names that differ in bytes but are equal
        // as Swift strings (canonically equivalent) are refused when the dictionary is made.
        var pairs: [(String, JSONValue, Int)] = []
        var previous: String? = nil
        var ordered = true
        // Once names come out of order, the names seen so far, as bytes: one look-up each, so an
        // object of n members costs O(n), never O(n²) (a hostile request could hold 300,000).
        var seen = Set<[UInt8]>()
        while true {
            skipWhitespace()
            guard i < buf.count, buf[i] == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let keyStart = i
            let key = try string()
            if let prev = previous, ordered, !CanonicalJSON.precedes(prev, key) {
                if mode == .canonical { throw Failure(offset: keyStart, reason: "member \"\(key)\" is out of canonical (RFC 8785) order") }
                ordered = false
                seen = Set(pairs.map { Array($0.0.utf8) })
            }
            if !ordered, !seen.insert(Array(key.utf8)).inserted {
                throw Failure(offset: keyStart, reason: "duplicate member name \"\(key)\"")
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            pairs.append((key, try value(depth: depth + 1), keyStart))
            previous = key
            skipWhitespace()
            guard i < buf.count else { throw fail("unexpected end of JSON inside an object") }
            if buf[i] == UInt8(ascii: ",") { i += 1; continue }
            if buf[i] == UInt8(ascii: "}") {
                i += 1
                var members = [String: JSONValue](minimumCapacity: pairs.count)
                for (k, v, offset) in pairs {
                    // Names equal as Swift strings but not in bytes (canonically equivalent) end here.
                    guard members.updateValue(v, forKey: k) == nil else {
                        throw Failure(offset: offset, reason: "duplicate member name \"\(k)\"")
                    }
                }
                return .object(members)
            }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        i += 1
        var items = [JSONValue]()
        skipWhitespace()
        if i < buf.count, buf[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            guard i < buf.count else { throw fail("unexpected end of JSON inside an array") }
            if buf[i] == UInt8(ascii: ",") { i += 1; continue }
            if buf[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func string() throws(Failure) -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        var high: UInt8 = 0
        while i < buf.count, buf[i] != UInt8(ascii: "\""), buf[i] != UInt8(ascii: "\\"), buf[i] >= 0x20 { high |= buf[i]; i += 1 }
        guard i < buf.count else { throw fail("unterminated string") }
        if buf[i] == UInt8(ascii: "\"") {
            // ASCII is valid UTF-8 as it stands (and the common case): no validation to do.
            if high < 0x80 {
                let s = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            guard let s = String(validating: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self) else {
                throw Failure(offset: start, reason: "string is not valid UTF-8")
            }
            i += 1
            return s
        }
        var bytes = Array(buf[start..<i])
        while true {
            guard i < buf.count else { throw fail("unterminated string") }
            let c = buf[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character 0x\(Hex.encode([c])) must be escaped in a string") }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            i += 1
            guard i < buf.count else { throw fail("unterminated escape") }
            let e = buf[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "/") where mode == .lenient: bytes.append(UInt8(ascii: "/"))
            case UInt8(ascii: "u"): try unicodeEscape(into: &bytes)
            default:
                i -= 2
                throw fail(mode == .canonical ? "escape not used by canonical JSON" : "invalid escape in a string")
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw Failure(offset: start, reason: "string is not valid UTF-8") }
        return s
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= buf.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buf[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where mode == .lenient: d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func unicodeEscape(into bytes: inout [UInt8]) throws(Failure) {
        let escapeStart = i - 2
        var scalar = try hex4()
        if mode == .canonical {
            // JCS escapes only the controls that have no short form.
            let short: Set<UInt32> = [0x08, 0x09, 0x0A, 0x0C, 0x0D]
            guard scalar < 0x20, !short.contains(scalar) else {
                throw Failure(offset: escapeStart, reason: "\\u escape not used by canonical JSON")
            }
        }
        if (0xD800...0xDBFF).contains(scalar) {
            guard i + 6 <= buf.count, buf[i] == UInt8(ascii: "\\"), buf[i + 1] == UInt8(ascii: "u") else {
                throw Failure(offset: escapeStart, reason: "lone UTF-16 surrogate in \\u escape")
            }
            i += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                throw Failure(offset: escapeStart, reason: "lone UTF-16 surrogate in \\u escape")
            }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalar) {
            throw Failure(offset: escapeStart, reason: "lone UTF-16 surrogate in \\u escape")
        }
        bytes.append(contentsOf: String(Character(UnicodeScalar(scalar)!)).utf8)
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = i
        if buf[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        while i < buf.count, buf[i] >= UInt8(ascii: "0"), buf[i] <= UInt8(ascii: "9") { i += 1 }
        let intDigits = i - intStart
        guard intDigits > 0 else { throw fail("expected a digit") }
        if intDigits > 1, buf[intStart] == UInt8(ascii: "0") {
            throw Failure(offset: start, reason: "number has a leading zero")
        }
        var isInteger = true
        if i < buf.count, buf[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            let f = i
            while i < buf.count, buf[i] >= UInt8(ascii: "0"), buf[i] <= UInt8(ascii: "9") { i += 1 }
            guard i > f else { throw fail("expected a digit after '.'") }
        }
        if i < buf.count, buf[i] == UInt8(ascii: "e") || buf[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < buf.count, buf[i] == UInt8(ascii: "+") || buf[i] == UInt8(ascii: "-") { i += 1 }
            let e = i
            while i < buf.count, buf[i] >= UInt8(ascii: "0"), buf[i] <= UInt8(ascii: "9") { i += 1 }
            guard i > e else { throw fail("expected a digit in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
        if isInteger {
            guard let v = Int64(text), v.magnitude <= JSONValue.maxSafeInteger else {
                throw Failure(offset: start, reason: "integer \(text.prefix(24)) is outside ±9007199254740991")
            }
            if mode == .canonical, text == "-0" { throw Failure(offset: start, reason: "-0 is not canonical") }
            return .integer(v)
        }
        guard let d = Double(text), d.isFinite else {
            throw Failure(offset: start, reason: "number \(text.prefix(24)) is out of range")
        }
        if mode == .canonical {
            // An integral value is written as an integer by JCS, so it never reaches here.
            guard (try? CanonicalJSON.formatNumber(d)) == text else {
                throw Failure(offset: start, reason: "number \(text) is not in canonical form")
            }
        }
        return .number(d)
    }
}
