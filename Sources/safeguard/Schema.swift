import ArgumentParser
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the JSON Schema (draft 2020-12) of every event type's input form, for integrating other systems.",
            discussion: "Code lists come from the policy in force in --ledger, or from the built-in toolkit policy when no ledger is given.")
        @Option(name: .long, help: ArgumentHelp("Take code lists from this ledger's policy (default: $SAFEGUARD_LEDGER if set, else the built-in policy).", valueName: "path"), completion: .file())
        var ledger: String?

        func run() throws {
            let path = ledger ?? ProcessInfo.processInfo.environment["SAFEGUARD_LEDGER"]
            let policy = try path.map { try Ledger.open(at: $0, readOnly: true).policyDocument() } ?? PolicyDocument.toolkit
            printJSON(JSONSchema.document(policy: policy))
        }
    }
}

import Foundation
