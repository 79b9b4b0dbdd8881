import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore
import Projections
import SafeguardCatalogue

extension Report.Format: ExpressibleByArgument {}
extension AgeBand: ExpressibleByArgument {}

/// Which children a report counts (every report takes these).
struct ReportFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only children of this borough (as their case records it).", valueName: "name"))
    var borough: String?
    @Option(name: .customLong("age-band"), help: ArgumentHelp("Only children of this age band on the report's last day (the youngest the birth month allows).", valueName: "band"),
            completion: .list(AgeBand.allCases.map(\.rawValue)))
    var ageBand: AgeBand?
    @Option(help: ArgumentHelp("Only children of this gender: \(ReportFilter.genders.map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", ")).", valueName: "gender"),
            completion: .list(ReportFilter.genders.map { $0.replacingOccurrences(of: "_", with: "-") }))
    var gender: String?
    @Option(help: ArgumentHelp("Only children this agency had recorded anything about by the report's last day.", valueName: "agency"), completion: Choices.agency)
    var agency: String?

    /// The filter, checked against the read models' policy and boroughs.
    func filter(_ engine: ProjectionEngine) throws -> ReportFilter {
        let filter = ReportFilter(borough: borough, ageBand: ageBand, gender: gender, agency: agency)
        if let problem = filter.problem(policy: try engine.policyAtHead()) { throw InputError(problem) }
        if let borough {
            let known = try engine.boroughs()
            guard known.contains(borough) else {
                throw InputError("--borough: no case records borough \"\(borough)\"; the cases record " + (known.isEmpty ? "none" : known.joined(separator: ", ")))
            }
        }
        return filter
    }
}

extension Safeguard {
    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Reports for the monthly MASE meeting, from the read models (run 'safeguard project update' first).",
            discussion: """
                Every report starts with the log size, head hash and read-model digests it was built from, \
                so anyone can re-derive its figures from the same log. Formats: text, md, csv (long \
                format: section,row,column,value, one sheet for every section), csv-wide (each section a table), json, html (one page with charts and tables, for --out FILE). Days are inclusive; \
                by default a report is as of today (in England), whatever dates the log holds. Every report can count only some children: \
                --borough, --age-band, --gender, --agency (any combination).
                """,
            subcommands: [MASE.self, Practice.self, Trend.self])
    }
}

extension Safeguard.ReportCommand {
    struct MASE: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mase",
            abstract: "The MASE statistics (referrals, caseloads, levels, themes, missing episodes, patterns, disruption, outcomes, practice exceptions, transition cohort, actions).",
            discussion: "The period is from the last MASE meeting before --to (or the first record) to --to (default: today).")
        @OptionGroup var ledger: LedgerOptions
        @Option(help: ArgumentHelp("First day of the period.", valueName: "YYYY-MM-DD")) var from: String?
        @Option(help: ArgumentHelp("Last day of the period.", valueName: "YYYY-MM-DD")) var to: String?
        @Option(help: "text, md, csv (long: section,row,column,value), csv-wide (each section a table), json, or html (one self-contained page with charts; give --out).") var format: Report.Format = .text
        @Option(help: ArgumentHelp("Write the report to this file instead of printing it.", valueName: "path"), completion: .file()) var out: String?
        @OptionGroup(title: "Which children") var only: ReportFilterOptions

        func run() throws {
            let engine = try openProjections(ledger)
            func day(_ s: String?, _ flag: String) throws -> Day? {
                guard let s else { return nil }
                guard let d = Day(iso: s) else { throw ValidationError("\(flag) must be a date YYYY-MM-DD") }
                return d
            }
            let (start, end) = (try day(from, "--from"), try day(to, "--to"))
            if let start, let end, start > end { throw ValidationError("--from (\(start)) is after --to (\(end))") }
            let report = try withReadProgress(engine) { try engine.maseReport(from: start, to: end ?? Day(london: Clock.now()), filter: try only.filter(engine)) }
            try emit(report, format, to: out)
        }
    }

    struct Trend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Month by month: referrals, screenings by level, missing episodes, cases opened and closed (each month as known at its end).")
        @OptionGroup var ledger: LedgerOptions
        @Option(help: "How many calendar months, ending with the month of --to.") var months = 12
        @Option(help: ArgumentHelp("The last day (default: today).", valueName: "YYYY-MM-DD")) var to: String?
        @Option(help: "text, md, csv (long: section,row,column,value), csv-wide (each section a table), json, or html (one self-contained page with charts; give --out).") var format: Report.Format = .text
        @Option(help: ArgumentHelp("Write the report to this file instead of printing it.", valueName: "path"), completion: .file()) var out: String?
        @OptionGroup(title: "Which children") var only: ReportFilterOptions

        func validate() throws {
            guard (1...120).contains(months) else { throw ValidationError("--months must be from 1 to 120") }
            if let to, Day(iso: to) == nil { throw ValidationError("--to must be a date YYYY-MM-DD") }
        }

        func run() throws {
            let engine = try openProjections(ledger)
            let end = to.flatMap(Day.init(iso:)) ?? Day(london: Clock.now())
            try emit(try withReadProgress(engine) { try engine.trendReport(months: months, to: end, filter: try only.filter(engine)) }, format, to: out)
        }
    }

    struct Practice: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recording-practice exceptions (R1–R15): for every case, what is missing, since when, and how overdue in working days.")
        @OptionGroup var ledger: LedgerOptions
        @Option(help: ArgumentHelp("Judge as of this day (default: today).", valueName: "YYYY-MM-DD")) var on: String?
        @Option(help: "text, md, csv (long: section,row,column,value), csv-wide (each section a table), json, or html (one self-contained page with charts; give --out).") var format: Report.Format = .text
        @Option(help: ArgumentHelp("Write the report to this file instead of printing it.", valueName: "path"), completion: .file()) var out: String?
        @OptionGroup(title: "Which children") var only: ReportFilterOptions
        @Option(help: ArgumentHelp("A folder of the log's checkpoints cosigned by witnesses (a mirror keeps them in COPY.checkpoints): late recording (R12) then also uses the time the witnesses prove, not only the log's clock.", valueName: "path"), completion: .file())
        var witnessed: String?
        @Option(name: .customLong("log-key"), help: ArgumentHelp("With --witnessed: the log's checkpoint verifier key, or a file holding it.", valueName: "vkey"))
        var logKey: String?
        @Option(help: ArgumentHelp("With --witnessed: a witness's cosigning verifier key whose cosignatures count (repeatable).", valueName: "vkey"))
        var witness: [String] = []

        func validate() throws {
            if witnessed != nil, logKey == nil || witness.isEmpty { throw ValidationError("--witnessed needs --log-key and at least one --witness: whose signatures count") }
        }

        func run() throws {
            let engine = try openProjections(ledger)
            var day: Day? = nil
            if let on {
                guard let d = Day(iso: on) else { throw ValidationError("--on must be a date YYYY-MM-DD") }
                day = d
            }
            var bounds: [ProjectionEngine.WitnessedBound] = []
            if let witnessed, let logKey {
                let log = try noteVerifier(logKey, what: "--log-key")
                let files = (try? FileManager.default.contentsOfDirectory(atPath: witnessed)) ?? []
                guard !files.isEmpty else { throw InputError("--witnessed \(witnessed) holds no checkpoints: give the folder 'safeguard mirror' keeps (COPY.checkpoints)") }
                for name in files.sorted() where name.hasSuffix(".checkpoint") {
                    let note = try readFile(witnessed + "/" + name, what: "the checkpoint")
                    let (checkpoint, _) = try Checkpoint.open(note, log: log)
                    if let first = try WitnessQuorum.times(note, witnesses: witness).min(by: { $0.time < $1.time }) {
                        bounds.append(.init(size: checkpoint.size, time: Timestamp(seconds: first.time), witness: first.name))
                    }
                }
            }
            let report = try withReadProgress(engine) { try engine.practiceReport(on: day ?? Day(london: Clock.now()), witnessed: bounds, filter: try only.filter(engine)) }
            try emit(report, format, to: out)
        }
    }
}

/// Runs a report with progress on the terminal as it reads the cases' verified events.
func withReadProgress<T>(_ engine: ProjectionEngine, _ body: () throws -> T) rethrows -> T {
    let progress = Progress("read", json: false)
    engine.readProgress = { done, total in
        guard total > 0 else { return }
        progress.total = total
        progress.update(done)
    }
    defer { progress.finish(); engine.readProgress = nil }
    return try body()
}

/// Prints the report, or writes it to `path` (whole, or not at all; mode 0600) and says where.
func emit(_ report: Report, _ format: Report.Format, to path: String?) throws {
    let text = report.render(format)
    guard let path else { return print(text, terminator: "") }
    do {
        try writePrivately(Data(text.utf8), to: path)
    } catch {
        throw InputError("cannot write \(path): \(error); choose a folder you can write to")
    }
    print("Wrote \(path) (\(text.utf8.count / 1024 + 1) KB, \(format.rawValue)).")
}
