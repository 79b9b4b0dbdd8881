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

/// Progress of long work on stderr, on a terminal only (never on a pipe, nor with --json):
/// how many of how many, the rate and the time left, drawn from the first second on at most
/// twice a second, and cleared when the work ends.
final class Progress: @unchecked Sendable {  // updated from one thread at a time
    let verb: String
    var total: Int64?
    let enabled: Bool
    let started = Date()
    var lastDraw = Date.distantPast
    var drawn = false

    init(_ verb: String, total: Int64? = nil, json: Bool) {
        self.verb = verb
        self.total = total
        enabled = isatty(STDERR_FILENO) == 1 && !json
    }

    func update(_ done: Int64) {
        guard enabled else { return }
        let now = Date(), elapsed = now.timeIntervalSince(started)
        guard elapsed >= Self.after, now.timeIntervalSince(lastDraw) >= 0.5 else { return }
        lastDraw = now
        drawn = true
        let rate = Double(done) / elapsed
        var line = "\r\(verb) \(Self.count(done))"
        if let total, total > 0 {
            line += " of \(Self.count(total)) (\(min(100, done * 100 / total))%)"
        }
        line += ", \(Self.count(Int64(rate))) a second"
        if let total, rate > 0, total > done { line += ", about \(Self.duration(Double(total - done) / rate)) left" }
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
    }

    /// Work shorter than this (seconds) shows no progress: $SAFEGUARD_PROGRESS_AFTER, default 1.
    static let after = ProcessInfo.processInfo.environment["SAFEGUARD_PROGRESS_AFTER"].flatMap(Double.init) ?? 1

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }

    static func count(_ n: Int64) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    static func duration(_ s: Double) -> String {
        s < 90 ? "\(Int(s.rounded())) s" : s < 5400 ? "\(Int((s / 60).rounded())) min" : String(format: "%.1f h", s / 3600)
    }
}
