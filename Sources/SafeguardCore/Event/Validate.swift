/// Shape checks shared by the envelope decoder, input parsing and governance rules.
public enum Validate {
    /// `8-4-4-4-12` lowercase hex.
    public static func isUUID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 36 else { return false }
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard isLowerHex(c) else { return false }
            }
        }
        return true
    }

    public static func isKeyID(_ s: String) -> Bool {
        s.utf8.count == 32 && s.utf8.allSatisfy(isLowerHex)
    }

    static func isLowerHex(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
    }

    /// Agency and role codes: `[a-z][a-z0-9_]{0,31}`.
    public static func code(_ s: String, field: String) throws(Envelope.Invalid) {
        let u = Array(s.utf8)
        guard (1...32).contains(u.count), u[0] >= UInt8(ascii: "a"), u[0] <= UInt8(ascii: "z"),
            u.allSatisfy({ ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") })
        else { throw Envelope.Invalid(field, "\"\(s.prefix(40))\" must be a code of 1-32 characters a-z, 0-9 and _, starting with a letter") }
    }

    /// Pseudonymous case ids: 1-64 characters `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
    public static func caseID(_ s: String, field: String) throws(Envelope.Invalid) {
        let u = Array(s.utf8)
        func ok(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45
        }
        guard (1...64).contains(u.count), u.allSatisfy(ok), ok(u[0]), u[0] != 46, u[0] != 95, u[0] != 45 else {
            throw Envelope.Invalid(field, "must be a pseudonymous id of 1-64 characters A-Z, a-z, 0-9, '.', '_' or '-' (e.g. C-2026-0001)")
        }
    }

    /// Names of people and partnerships: 1-128 characters, none of them a control character
    /// (U+0000-U+001F, U+007F-U+009F) or one that changes how text reads without being seen:
    /// a format character (Unicode category Cf: zero-width spaces and joiners, bidirectional
    /// overrides, U+FEFF), a line or paragraph separator (Zl, Zp), or a private-use character
    /// (Co). So "PC 0001" cannot be enrolled again as "PC\u{200B} 0001", nor a name reversed.
    public static func name(_ s: String, field: String) throws(Envelope.Invalid) {
        // Printable ASCII, as nearly every name is, needs no look-up of Unicode properties
        // (verification checks the name of every entry's actor).
        if !s.isEmpty, s.utf8.count <= 128, s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return }
        guard !s.isEmpty, s.unicodeScalars.count <= 128 else { throw Envelope.Invalid(field, "must be 1-128 characters") }
        if let bad = s.unicodeScalars.first(where: isHidden) {
            throw Envelope.Invalid(field, "holds U+\(String(bad.value, radix: 16, uppercase: true)), a control, invisible or blank character other than a space: type the name in plain characters")
        }
    }

    /// A character a reader cannot see, or that changes how text around it reads: controls,
    /// format characters (zero-width, bidirectional overrides), line and paragraph separators,
    /// private-use and unassigned code points, every default-ignorable code point (combining
    /// grapheme joiner, variation selectors, Hangul fillers, Mongolian and Khmer invisibles),
    /// and every blank but the ordinary space (no-break and ideographic spaces, the braille blank).
    static func isHidden(_ u: Unicode.Scalar) -> Bool {
        if u == " " { return false }
        if u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u.value == 0x2800 { return true }
        let p = u.properties
        if p.isDefaultIgnorableCodePoint || p.isWhitespace { return true }
        switch p.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned, .spaceSeparator: return true
        default: return false
        }
    }

    /// Whether two names (of practitioners, within one agency) are the same person's name as
    /// people read them: equal once each run of spaces is one space and none leads or trails,
    /// full-width forms are read as the ASCII they show (`ＰＣ` as `PC`), compared without case
    /// (Unicode lowercase mapping) and as canonically equivalent text (`é` written either way).
    /// Letters of other scripts that look alike (Cyrillic `а`, Latin `a`) are not folded.
    public static func sameName(_ a: String, _ b: String) -> Bool {
        func folded(_ s: String) -> String {
            var out = String.UnicodeScalarView()
            for u in s.unicodeScalars {
                if (0xFF01...0xFF5E).contains(u.value), let ascii = Unicode.Scalar(u.value - 0xFEE0) { out.append(ascii) } else { out.append(u) }
            }
            return String(out).lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        }
        return folded(a) == folded(b)
    }

    /// The envelope holds strings, integers, booleans, arrays and objects only.
    public static func plainData(_ v: JSONValue, path: String) throws(Envelope.Invalid) {
        // The common case, checked without building a path: nothing to refuse.
        guard !isPlain(v) else { return }
        switch v {
        case .null: throw Envelope.Invalid(path, "is null; leave the member out instead")
        case .number: throw Envelope.Invalid(path, "is a decimal number; the ledger stores whole numbers only (write decimals as strings)")
        case .bool, .integer, .string: return
        case .array(let items):
            for (i, item) in items.enumerated() { try plainData(item, path: "\(path)[\(i)]") }
        case .object(let members):
            for (k, item) in members { try plainData(item, path: "\(path).\(k)") }
        }
    }

    /// Whether `v` is certainly stored and read back as itself by the canonical encoder and
    /// parser: plain data, whole numbers within ±(2^53 - 1), nested at most 32 levels (half the
    /// parser's limit). False is not a refusal, only "take the full way" (`ChainVerifier.prepare`).
    static func isSurelyStorable(_ v: JSONValue, depth: Int = 0) -> Bool {
        guard depth <= 32 else { return false }
        switch v {
        case .null, .number: return false
        case .bool, .string: return true
        case .integer(let n): return n.magnitude <= JSONValue.maxSafeInteger
        case .array(let items): return items.allSatisfy { isSurelyStorable($0, depth: depth + 1) }
        case .object(let members): return members.values.allSatisfy { isSurelyStorable($0, depth: depth + 1) }
        }
    }

    private static func isPlain(_ v: JSONValue) -> Bool {
        switch v {
        case .null, .number: return false
        case .bool, .integer, .string: return true
        case .array(let items): return items.allSatisfy(isPlain)
        case .object(let members): return members.values.allSatisfy(isPlain)
        }
    }
}
