import ArgumentParser
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Head: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the ledger's size and head hash (the entry hash of its last event).")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let l = try ledger.open(readOnly: true)
            guard let head = try l.head() else { throw LedgerError.notALedger(path: l.path) }
            if output.json {
                printJSON(["size": .integer(head.size), "last_seq": .integer(head.lastSeq), "head_hash": .string(Hex.encode(head.hash))])
            } else {
                print("size \(head.size)")
                print("head \(Hex.encode(head.hash))")
            }
        }
    }

    struct Types: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the event types the ledger accepts, by family.")

        @OptionGroup var output: OutputOptions

        func run() throws {
            for (family, types) in EventType.families {
                let names = types.map { "\(family).\($0)" }
                if output.json {
                    printJSON(["family": .string(family), "types": .array(names.map { .string($0) }),
                               "case_id": .bool(EventType.requiresCase(names[0]))])
                } else {
                    print("\(family): " + names.joined(separator: ", "))
                }
            }
        }
    }
}
