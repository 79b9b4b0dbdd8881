/// Whether a case id or a reference fact looks as if it identifies a person or a place: a full
/// date (a date of birth), "DOB", a UK postcode, a street word, or two capitalised words in a
/// row (a name). Facts are signed and can never be erased, so identifying data belongs in
/// details; ids and references are pseudonymous (`C-2026-0001`, `VENUE-0012`). A heuristic:
/// `doctor` reports what it finds, with the record, for a person to judge.
public enum Identifiers {
    /// Why `value` looks identifying, or nil.
    public static func concern(_ value: String) -> String? {
        let tokens = value.split(whereSeparator: { "-_. /,".contains($0) }).map(String.init)
        if tokens.contains(where: { $0.lowercased() == "dob" }) { return "says DOB" }
        if hasFullDate(tokens) { return "holds a full date" }
        if hasPostcode(value.uppercased()) { return "holds a postcode" }
        let streets: Set<String> = ["avenue", "road", "street", "lane", "close", "drive", "crescent", "gardens", "terrace", "grove", "court", "way", "rd", "st", "ave"]
        if tokens.count > 1, tokens.contains(where: { streets.contains($0.lowercased()) }), tokens.contains(where: { Int($0) != nil || isCapitalised($0) }) {
            return "looks like an address"
        }
        for (a, b) in zip(tokens, tokens.dropFirst()) where isCapitalised(a) && isCapitalised(b) { return "looks like a name (\(a) \(b))" }
        return nil
    }

    /// Capitalised and then lower case, two letters or more ("Smith", not "POI" or "A3").
    static func isCapitalised(_ t: String) -> Bool {
        guard let first = t.unicodeScalars.first, t.unicodeScalars.count >= 2, first.properties.isUppercase else { return false }
        return t.unicodeScalars.dropFirst().allSatisfy { $0.properties.isLowercase }
    }

    /// A year, month and day in a row (2012-04-03), or a day, month and year (03/04/2012).
    static func hasFullDate(_ tokens: [String]) -> Bool {
        func n(_ t: String) -> Int? { t.allSatisfy(\.isNumber) && !t.isEmpty && t.count <= 4 ? Int(t) : nil }
        for i in tokens.indices.dropLast(2) {
            guard let a = n(tokens[i]), let b = n(tokens[i + 1]), let c = n(tokens[i + 2]) else { continue }
            if tokens[i].count == 4, (1900...2099).contains(a), (1...12).contains(b), tokens[i + 2].count == 2, (1...31).contains(c) { return true }
            if tokens[i + 2].count == 4 || tokens[i + 2].count == 2, (1...31).contains(a), (1...12).contains(b), tokens[i].count <= 2, tokens[i + 1].count <= 2,
                tokens[i + 2].count == 4 ? (1900...2099).contains(c) : true { return true }
        }
        return false
    }

    /// A UK postcode: one or two letters, a digit, a letter or digit or none, then a digit and two letters.
    static func hasPostcode(_ s: String) -> Bool {
        let c = Array(s.unicodeScalars)
        func letter(_ i: Int) -> Bool { i < c.count && c[i].properties.isUppercase && c[i].isASCII }
        func digit(_ i: Int) -> Bool { i < c.count && ("0"..."9").contains(c[i]) }
        for start in c.indices where letter(start) && (start == 0 || !letter(start - 1)) {
            for outward in [start + 1, start + 2] where (outward == start + 1 || letter(start + 1)) && digit(outward) {
                for inward in [outward + 1, outward + 2] {
                    if inward == outward + 2, !(letter(outward + 1) || digit(outward + 1)) { continue }
                    let next = inward < c.count && " .-".unicodeScalars.contains(c[inward]) ? inward + 1 : inward
                    if digit(next), letter(next + 1), letter(next + 2), !letter(next + 3) { return true }
                }
            }
        }
        return false
    }

    /// Whether `value` is one of `prefixes` followed by 1-32 characters of the rest: digits and
    /// `-` (and, for a reference, upper-case letters A-Z, none next to another letter), with at
    /// least one digit. So `C-2026-0001`, `VENUE-0012` and `MASE-2026-11-A3` are, and no name
    /// or word is (docs/CATALOGUE.md "Identifiers").
    public static func follows(_ value: String, prefixes: [String], lettersAllowed: Bool) -> Bool {
        for prefix in prefixes where value.hasPrefix(prefix) {
            let rest = Array(value.utf8.dropFirst(prefix.utf8.count))
            guard (1...32).contains(rest.count), rest.contains(where: { (0x30...0x39).contains($0) }) else { continue }
            var ok = true
            for (i, c) in rest.enumerated() {
                let letter = (0x41...0x5A).contains(c)
                if (0x30...0x39).contains(c) || c == 0x2D { continue }
                if letter, lettersAllowed, !(i > 0 && (0x41...0x5A).contains(rest[i - 1])), !(i + 1 < rest.count && (0x41...0x5A).contains(rest[i + 1])) { continue }
                ok = false
                break
            }
            if ok { return true }
        }
        return false
    }
}
