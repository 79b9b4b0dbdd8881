import ArgumentParser
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

extension Safeguard {
    struct Head: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the ledger's size, head hash (the entry hash of its last event) and Merkle tree root.",
            discussion: "Read from this file without verifying it: note them, and check them later with 'safeguard verify', which recomputes both from the entries.")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let l = try ledger.open(readOnly: true)
            guard let head = try l.head() else { throw LedgerError.notALedger(path: l.path) }
            // A format-1 file opened read-only has no stored tree: the root is left out.
            let root = try? l.treeRoot(size: head.size).root
            if output.json {
                var o: [String: JSONValue] = ["size": .integer(head.size), "last_seq": .integer(head.lastSeq), "head_hash": .string(Hex.encode(head.hash))]
                if let root { o["tree_root"] = .string(Base64.encode(root)) }
                printJSON(.object(o))
            } else {
                print("size \(head.size)")
                print("head \(Hex.encode(head.hash))")
                if let root { print("root \(Base64.encode(root))") }
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
                               "case_id": .bool(LogType.requiresCase(names[0]))])
                } else {
                    print("\(family): " + names.joined(separator: ", "))
                }
            }
        }
    }
}
