import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct DoctorCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "doctor",
            abstract: "Check the ledger file itself: SQLite integrity, format, append-only triggers, write-ahead log, permissions.",
            discussion: """
                Reads only. Each check prints ok, WARNING or PROBLEM, and what to do about it. Exit 0 when \
                nothing needs action (warnings allowed), 1 when a problem does. 'safeguard verify' is what \
                checks the events themselves.
                """)
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let path = try ledger.path()
            let findings = try Doctor.examine(path: path)
            for f in findings {
                if output.json {
                    var o: [String: JSONValue] = ["check": .string(f.check), "level": .string(f.level.rawValue), "message": .string(f.message)]
                    if let a = f.advice { o["advice"] = .string(a) }
                    printJSON(.object(o))
                } else {
                    let tag = f.level == .ok ? "ok      " : f.level == .warning ? "WARNING " : "PROBLEM "
                    print(tag + padded(f.check, 12) + f.message + (f.advice.map { "\n" + String(repeating: " ", count: 20) + "→ " + $0 } ?? ""))
                }
            }
            if findings.contains(where: { $0.level == .problem }) { throw ExitCode(1) }
        }
    }
}
