import Foundation

/// What reaches a person's terminal from the ledger file (a practitioner's or partnership's
/// name, a policy's, a failure's reason, a case's facts) is the file's author's choice, not
/// ours: an ESC sequence in a crafted enrolment could clear the auditor's screen and paint a
/// green "OK". So every character that a terminal would act on, or that would make text read
/// other than it is (controls, bidirectional overrides, invisible format characters, line and
/// paragraph separators), is shown escaped, as `\u{1B}`. Only our own line breaks and tabs
/// pass. JSON output (`--json`) is for programs: its encoder escapes control characters.
enum Terminal {
    static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for u in text.unicodeScalars {
            if needsEscape(u) { out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}" } else { out.unicodeScalars.append(u) }
        }
        return out
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        if u == "\n" || u == "\t" { return false }
        if u.value < 0x20 || (0x7F...0x9F).contains(u.value) { return true }
        switch u.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// One error line on stderr, escaped.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((safe(line) + "\n").utf8))
    }

    /// One warning line on stderr ("warning: …"), escaped.
    static func warning(_ line: String) { error("warning: " + line) }
}

/// Everything this command-line tool prints goes through `Terminal.safe`: this shadows the
/// standard library's `print` in the module.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(Terminal.safe(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}
