import ArgumentParser
import SafeguardCatalogue
import SafeguardCore

extension Safeguard {
    struct Case: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Look at one case.", subcommands: [Next.self])
    }
}

extension Safeguard.Case {
    struct Next: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What the toolkit requires next for a case, with due dates in working days.",
            discussion: "Deadlines exclude weekends and the England & Wales bank holidays of the policy in force; overdue steps say by how many working days.")
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: ArgumentHelp("The case id.", valueName: "case")) var caseID: String
        @Option(help: ArgumentHelp("Judge overdue as of this date (default today).", valueName: "YYYY-MM-DD")) var on: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let l = try ledger.open(readOnly: true)
            guard !(try l.caseEvents(caseID)).isEmpty else { throw InputError("no case \(caseID) in \(l.path): check the case id ('safeguard log' lists events)") }
            let today: Day
            if let on {
                guard let d = Day(iso: on) else { throw ValidationError("--on must be a date YYYY-MM-DD") }
                today = d
            } else {
                today = Day(london: Clock.now())
            }
            let steps = try CaseQueries.nextSteps(l, caseID: caseID, today: today)
            if output.json {
                for s in steps { printJSON(CaseQueries.json(s)) }
            } else if steps.isEmpty {
                print("Nothing outstanding for \(caseID) under the toolkit's rules.")
            } else {
                for s in steps { print(s.sentence) }
            }
        }
    }
}
