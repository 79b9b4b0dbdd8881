import ArgumentParser
import Foundation
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Codes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the codes of the policy in force: risk indicators (with their threshold column), vulnerability factors, disruption tactics, agencies.",
            discussion: "From --ledger (or $SAFEGUARD_LEDGER) when given, else the built-in toolkit policy.")
        @Option(name: .long, help: ArgumentHelp("Read the policy in force in this ledger.", valueName: "path"), completion: .file()) var ledger: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let path = ledger ?? ProcessInfo.processInfo.environment["SAFEGUARD_LEDGER"]
            let p = try path.map { try Ledger.open(at: $0, readOnly: true).policyDocument() } ?? PolicyDocument.toolkit
            if output.json {
                for c in p.indicatorOrder {
                    let i = p.indicators[c]!
                    printJSON(["kind": "indicator", "code": .string(c), "set": .string(i.set), "column": .string(i.column), "label": .string(i.label)])
                }
                for c in p.vulnerabilityOrder { printJSON(["kind": "vulnerability", "code": .string(c), "label": .string(p.vulnerabilities[c]!)]) }
                for c in p.disruptionOrder { printJSON(["kind": "disruption", "code": .string(c), "label": .string(p.disruptions[c]!)]) }
                return
            }
            print("Policy \(p.name) v\(p.version)")
            print("\nSignificant risk indicators (mark current or prior, e.g. --indicator S1:current):")
            for c in p.indicatorCodes(set: "significant") { print("  \(padded(c, 4)) \(padded(p.indicators[c]!.column, 10)) \(p.indicators[c]!.label)") }
            print("\nAdditional risk indicators (ticked, no timing):")
            for c in p.indicatorCodes(set: "additional") { print("  \(padded(c, 4)) \(padded(p.indicators[c]!.column, 10)) \(p.indicators[c]!.label)") }
            print("\nVulnerability factors (never raise the level on their own):")
            for c in p.vulnerabilityOrder { print("  \(padded(c, 4)) \(p.vulnerabilities[c]!)") }
            print("\nDisruption tactics:")
            for c in p.disruptionOrder { print("  \(padded(c, 4)) \(p.disruptions[c]!)") }
            print("\nAgencies: " + p.permissions.agencies.joined(separator: ", "))
        }
    }
}
