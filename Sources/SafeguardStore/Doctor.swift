import Foundation
import GRDB
import SafeguardCore
import SafeguardCatalogue

/// `safeguard doctor`: the health of the ledger file itself (not of its events, which is
/// `verify`'s part): SQLite's integrity check, the format, the append-only triggers, the WAL
/// and the file's permissions, each with what to do about a problem. Reads only; never
/// upgrades or repairs the file.
public enum Doctor {
    public enum Level: String, Sendable { case ok, warning, problem }

    public struct Finding: Sendable, Equatable {
        public let check: String
        public let level: Level
        public let message: String
        /// What to do, for a warning or a problem.
        public let advice: String?
    }

    /// The tables each file format has (docs/FORMAT.md §10).
    static let tables: [(name: String, since: Int)] = [("events", 1), ("tree_nodes", 2), ("checkpoints", 3), ("details", 4), ("case_keys", 5)]
    /// The triggers of each table, with the format that added them (and the one that replaced
    /// them, if any).
    static let triggers: [(name: String, since: Int, until: Int)] = [
        ("events_append_only_update", 1, .max), ("events_append_only_delete", 1, .max), ("events_extend_chain", 1, .max),
        ("tree_nodes_append_only_update", 2, .max), ("tree_nodes_append_only_delete", 2, .max),
        ("checkpoints_append_only_update", 3, .max), ("checkpoints_append_only_delete", 3, .max), ("checkpoints_grow", 3, .max),
        ("details_append_only_update", 4, .max), ("details_append_only_delete", 4, 5), ("details_at_head", 4, .max),
        ("details_deleted_when_destroyed", 5, .max), ("case_keys_never_changed", 5, .max),
    ]

    /// Examines the file at `path`. Throws only when it is not a file SQLite can open at all.
    public static func examine(path: String) throws -> [Finding] {
        var out: [Finding] = []
        func add(_ check: String, _ level: Level, _ message: String, _ advice: String? = nil) {
            out.append(Finding(check: check, level: level, message: message, advice: advice))
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw LedgerError.notFound(path: path) }
        guard !isDir.boolValue else { throw LedgerError.notALedger(path: path) }

        // Permissions: the file holds children's records.
        if let attrs = try? FileManager.default.attributesOfItem(atPath: path), let mode = attrs[.posixPermissions] as? Int {
            if mode & 0o002 != 0 {
                add("permissions", .problem, String(format: "the file is writable by every user (mode %o)", mode),
                    "chmod o-w \(path): only the service account that records events should write it")
            } else if mode & 0o004 != 0 {
                add("permissions", .warning, String(format: "the file is readable by every user (mode %o)", mode),
                    "chmod o-r \(path): it holds children's records; give read access by group to those who need it")
            } else {
                add("permissions", .ok, String(format: "mode %o: not open to every user", mode))
            }
        }

        out += folderAndCompanions(path)

        var configuration = Configuration()
        configuration.readonly = true
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue(path: path, configuration: configuration) } catch { throw Ledger.map(error, path: path) }
        defer { try? queue.close() }
        do {
            try queue.read { db in
                let app = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                guard app == Schema.applicationID else {
                    add("identity", .problem, "this SQLite file is not a safeguard ledger (application_id \(app))", "check the --ledger path")
                    return
                }
                if version < 1 {
                    add("format", .problem, "the file says format \(version), which no safeguard writes", "restore the ledger from a verified copy")
                } else if version > Schema.formatVersion {
                    add("format", .problem, "format \(version) is newer than this safeguard reads (\(Schema.formatVersion))", "upgrade safeguard")
                } else if version < Schema.formatVersion {
                    add("format", .warning, "format \(version), older than this safeguard's \(Schema.formatVersion): readable, not yet upgraded",
                        "the next append (or 'safeguard checkpoint') upgrades it; keep a copy first if auditors hold the old one")
                } else {
                    add("format", .ok, "format \(version)")
                }

                let check = try String.fetchAll(db, sql: "PRAGMA integrity_check(20)")
                if check == ["ok"] {
                    add("integrity", .ok, "SQLite integrity_check: ok")
                } else {
                    add("integrity", .problem, "SQLite integrity_check found damage: " + check.prefix(3).joined(separator: "; "),
                        "the file is damaged (disk or copy fault): restore it from the latest verified copy, then run 'safeguard verify'")
                }

                let known = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
                let missingTables = tables.filter { $0.since <= version && !known.contains($0.name) }.map(\.name)
                if missingTables.isEmpty {
                    add("tables", .ok, "tables present: " + tables.filter { $0.since <= version }.map(\.name).joined(separator: ", "))
                } else {
                    add("tables", .problem, "tables missing: " + missingTables.joined(separator: ", "),
                        "this is not how safeguard leaves a file: restore it from a verified copy, then run 'safeguard verify'")
                }

                let present = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
                let v = min(version, Schema.formatVersion)
                let missing = triggers.filter { $0.since <= v && v < $0.until && !present.contains($0.name) }.map(\.name)
                if missing.isEmpty {
                    add("triggers", .ok, "append-only triggers present (\(triggers.filter { $0.since <= v && v < $0.until }.count))")
                } else {
                    add("triggers", .problem, "append-only triggers missing: " + missing.joined(separator: ", "),
                        "someone with write access removed them (safeguard never does): run 'safeguard verify' against the root key, "
                            + "compare with your last checkpoint ('verify --checkpoint'), and restore the file from a verified copy")
                }

                // Every object of the schema, by name and statement, and nothing else (docs/FORMAT.md §10).
                let differences = try Schema.differences(db, version: min(version, Schema.formatVersion))
                if differences.isEmpty {
                    add("schema", .ok, "schema exactly the format's (\(Schema.expected(version: min(version, Schema.formatVersion)).count) objects)")
                } else {
                    let extra = differences.filter { $0.kind == .unknown }.map { "\($0.object.type) \($0.object.name)" }
                    let altered = differences.filter { $0.kind == .altered }.map { "\($0.object.type) \($0.object.name)" }
                    let missing = differences.filter { $0.kind == .missing }.map { "\($0.object.type) \($0.object.name)" }
                    let parts = [extra.isEmpty ? nil : "not part of the format: " + extra.joined(separator: ", "),
                                 altered.isEmpty ? nil : "changed: " + altered.joined(separator: ", "),
                                 missing.isEmpty ? nil : "missing: " + missing.joined(separator: ", ")].compactMap { $0 }
                    add("schema", .problem, parts.joined(separator: "; "),
                        "someone with write access changed the file's schema (a planted trigger can drop records, a view can show rows that are not there): "
                            + "verification refuses the file; restore it from a verified copy and find out who had access")
                }

                // Case ids and reference facts that look as if they identify someone (facts
                // are signed and never erased; names belong in details).
                if missingTables.isEmpty, differences.isEmpty {
                    let found = try identifyingFacts(db)
                    if found.count == 0 {
                        add("identifiers", .ok, "no case id or reference looks like a name, an address or a date of birth")
                    } else {
                        add("identifiers", .warning,
                            "\(found.count) case id\(found.count == 1 ? "" : "s") or reference\(found.count == 1 ? "" : "s") may identify someone: "
                                + found.examples.joined(separator: "; ") + (found.count > found.examples.count ? "; …" : ""),
                            "facts are signed and can never be erased, only retracted: judge each; for one that identifies someone, retract it "
                                + "('record correction --event ID --kind retraction --reason wrong-details'), record it again with a pseudonymous reference "
                                + "(a prefix and digits, e.g. C-2026-0001, VENUE-0012) and names in details, and tell your data protection officer")
                    }
                }

                // Sealed details (docs/FORMAT.md §3.5): a case whose records are sealed needs its
                // wrapped keys (their loss is an erasure no review recorded), and keys belong to
                // cases of this ledger.
                if missingTables.isEmpty, try db.tableExists("case_keys") {
                    let keyless = try String.fetchAll(db, sql: """
                        SELECT DISTINCT e.case_id FROM events e JOIN details d USING (seq) WHERE e.case_id IS NOT NULL AND substr(d.body, 1, 1) = x'01'
                        AND NOT EXISTS (SELECT 1 FROM case_keys k WHERE k.case_id = e.case_id) ORDER BY e.case_id LIMIT 6
                        """)
                    let stray = try String.fetchAll(db, sql: """
                        SELECT DISTINCT k.case_id FROM case_keys k WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.case_id = k.case_id) ORDER BY k.case_id LIMIT 6
                        """)
                    let erased = try Self.erasuresUndone(db)
                    let strays = try Self.copiesBeyondEntitlement(db, path: path)
                    if !erased.isEmpty {
                        add("case keys", .problem, "the file holds details records or wrapped keys of case\(erased.count == 1 ? "" : "s") \(erased.prefix(5).joined(separator: ", ")), whose details a retention review destroyed",
                            "the rows were put back after the erasure (verification fails on them): restore the file from a verified copy made after it, and find out who had access")
                    } else if !keyless.isEmpty {
                        add("case keys", .problem, "the sealed records of case\(keyless.count == 1 ? "" : "s") \(keyless.prefix(5).joined(separator: ", ")) have no wrapped key in the file, and no retention review destroyed them",
                            "the case_keys table was emptied or altered: restore the ledger from a backup (its records cannot be read otherwise)")
                    } else if !stray.isEmpty {
                        add("case keys", .warning, "wrapped keys are stored for case\(stray.count == 1 ? "" : "s") \(stray.prefix(5).joined(separator: ", ")), which no event of this ledger names",
                            "someone with the file added them; safeguard replaces them when such a case is opened: find out who wrote to the file")
                    } else if !strays.isEmpty {
                        add("case keys", .warning, "wrapped keys are stored for agencies the log does not entitle, or were wrapped by keys it never enrolled: " + strays.prefix(5).joined(separator: "; ") + (strays.count > 5 ? "; …" : ""),
                            "safeguard never writes these: someone with the file added them; a practitioner of an agency that holds the case runs 'safeguard policy rewrap --case CASE' to write its copies again (others are removed), and find out who wrote to the file")
                    } else {
                        add("case keys", .ok, "every case with sealed records has its wrapped keys, each for an entitled agency and by an enrolled key")
                    }
                }

                // Values the format bounds, found by their lengths alone (never read): a planted
                // value of hundreds of MB would otherwise make every reader load it.
                if missingTables.isEmpty {
                    var oversized: [String] = []
                    let limits: [(table: String, since: Int, condition: String, what: String)] = [
                        ("events", 1, "length(envelope) > \(Entry.maxCanonicalBytes) OR length(signature) <> 64 OR length(entry_hash) <> 32 OR length(prev_hash) <> 32",
                         "events with an envelope over 1 MiB or a signature or hash of the wrong length"),
                        ("tree_nodes", 2, "length(hash) <> 32", "tree nodes whose hash is not 32 bytes"),
                        ("details", 4, "length(body) > \(Entry.maxCanonicalBytes) OR length(salt) <> 32", "details records over 1 MiB or with a salt that is not 32 bytes"),
                    ]
                    for l in limits where l.since <= version {
                        let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(l.table) NOT INDEXED WHERE \(l.condition)") ?? 0
                        if n > 0 { oversized.append("\(n) \(l.what)") }
                    }
                    if version >= 3 {
                        let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM checkpoints WHERE length(note) > \(Ledger.maxNoteBytes) OR length(root) <> 32") ?? 0
                        if n > 0 { oversized.append("\(n) checkpoint rows over \(Ledger.maxNoteBytes / 1024) KiB or with a root that is not 32 bytes") }
                    }
                    if oversized.isEmpty {
                        add("values", .ok, "every value within the format's sizes")
                    } else {
                        add("values", .problem, oversized.joined(separator: "; "),
                            "safeguard never writes these: they were planted; verification refuses the file. Restore it from a verified copy")
                    }
                }

                let journal = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?"
                if journal == "wal" {
                    add("journal", .ok, "journal mode: wal")
                } else {
                    add("journal", .warning, "journal mode: \(journal), not wal", "the next append switches it to wal; appends are durable either way")
                }
            }
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB {
            add("integrity", .problem, "SQLite cannot read the file: \(e.message ?? "damaged")",
                "the file is damaged: restore it from the latest verified copy, then run 'safeguard verify'")
        } catch {
            throw Ledger.map(error, path: path)
        }

        // The write-ahead log: merged into the file when the last process closes it.
        let wal = path + "-wal"
        if let attrs = try? FileManager.default.attributesOfItem(atPath: wal), let size = attrs[.size] as? Int64, size > 0 {
            let mb = Double(size) / 1_048_576
            add("wal", size > 64 << 20 ? .warning : .ok,
                String(format: "write-ahead log %@-wal holds %.1f MB not yet merged into the file", (path as NSString).lastPathComponent, mb),
                size > 64 << 20 ? "it is merged when no process has the ledger open; stop long-running readers, and copy the file together with its -wal file" : nil)
        } else {
            add("wal", .ok, "no pending write-ahead log: the file alone is the whole ledger")
        }
        return out
    }

    /// The folder and the `-wal` and `-shm` files beside the ledger: whoever can write the
    /// folder can put a file there before the ledger's owner does, and SQLite writes every
    /// record through the `-wal` (and keeps its index in `-shm`) whoever owns them.
    /// Cases a retention review destroyed whose details records or wrapped keys are in the file.
    static func erasuresUndone(_ db: Database) throws -> [String] {
        var destroyed = Set<String>()
        let reviews = try Row.fetchCursor(db, sql: "SELECT envelope FROM events WHERE type = 'governance.retention_review' AND instr(envelope, '\"decision\":\"destroyed\"') > 0")
        while let row = try reviews.next() {
            guard let bytes = row[0] as Data?, let e = try? Envelope(json: JSONParser.parse([UInt8](bytes), mode: .canonical)),
                let c = ChainVerifier.destroyedCase(e) else { continue }
            destroyed.insert(c)
        }
        guard !destroyed.isEmpty else { return [] }
        let held = Set(try String.fetchAll(db, sql: "SELECT DISTINCT case_id FROM case_keys"))
            .union(try String.fetchAll(db, sql: "SELECT DISTINCT events.case_id FROM details JOIN events ON events.seq = details.seq WHERE events.case_id IS NOT NULL"))
        return destroyed.intersection(held).sorted()
    }

    /// Wrapped keys no writer of safeguard stores: for an agency neither in the sealing
    /// policy's `every_case` nor entitled to the case by its events, or wrapped by a key the
    /// log never enrolled or by one of an agency not entitled. Each as "CASE: why".
    static func copiesBeyondEntitlement(_ db: Database, path: String) throws -> [String] {
        guard let state = try? Ledger.state(db, path: path), let sealing = state.policy?.sealing else { return [] }
        let context = try LedgerContext(db: db)
        var out: [String] = []
        var entitled: [String: Set<String>] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT case_id, agency, wrapped_by FROM case_keys ORDER BY case_id, agency") {
            guard let c = row[0] as String?, let a = row[1] as String?, let by = row[2] as String? else { continue }
            if entitled[c] == nil { entitled[c] = sealing.everyCase.union(context.caseRecord(c)?.entitled ?? []) }
            if !entitled[c]!.contains(a) { out.append("\(c): a copy for \(a), not entitled") }
            if let wrapper = state.registry[by]?.actor.agency {
                if !entitled[c]!.contains(wrapper) { out.append("\(c): \(a)'s copy wrapped by a key of \(wrapper), not entitled") }
            } else {
                out.append("\(c): \(a)'s copy wrapped by \(by), not an enrolled key")
            }
        }
        return out
    }

    static func folderAndCompanions(_ path: String) -> [Finding] {
        var out: [Finding] = []
        let fm = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        if let mode = (try? fm.attributesOfItem(atPath: folder))?[.posixPermissions] as? Int {
            let octal = String(mode & 0o7777, radix: 8)
            if mode & 0o002 != 0 {
                out.append(Finding(check: "folder", level: mode & 0o1000 == 0 ? .problem : .warning,
                                   message: "the folder \(folder) is writable by every user (mode \(octal))\(mode & 0o1000 == 0 ? "" : ", sticky"): another user can create the ledger's -wal or -shm before it does, and read what is recorded through them",
                                   advice: "keep the ledger in a folder only its users can write (mkdir -m 750 DIR; move the ledger with its -wal and -shm files)"))
            } else if mode & 0o020 != 0 {
                out.append(Finding(check: "folder", level: .warning, message: "the folder \(folder) is writable by its group (mode \(octal)): any member can replace the ledger or put files beside it",
                                   advice: "chmod g-w \(folder), unless every member of the group may write the ledger"))
            } else {
                out.append(Finding(check: "folder", level: .ok, message: "the folder is writable only by its owner (mode \(octal))", advice: nil))
            }
        }
        guard let ledger = try? fm.attributesOfItem(atPath: path), let owner = ledger[.ownerAccountID] as? Int, let mode = ledger[.posixPermissions] as? Int else { return out }
        var companions: [String] = []
        for suffix in ["-wal", "-shm"] {
            let file = path + suffix
            guard let attrs = try? fm.attributesOfItem(atPath: file) else { continue }
            companions.append((file as NSString).lastPathComponent)
            let theirs = (attrs[.ownerAccountID] as? Int) ?? owner, theirMode = (attrs[.posixPermissions] as? Int) ?? mode
            if theirs != owner {
                out.append(Finding(check: "companions", level: .problem,
                                   message: "\(file) belongs to user \(theirs), not to the ledger's owner (\(owner)): that user can read what is recorded through it",
                                   advice: "stop every process that uses the ledger, check that no record is pending ('safeguard verify'), remove \(file) (SQLite makes it again, the ledger's owner's), and keep the ledger in a folder only its users can write"))
            } else if theirMode & 0o777 & ~(mode & 0o777) != 0 {
                out.append(Finding(check: "companions", level: .problem,
                                   message: String(format: "%@ is more open (mode %o) than the ledger (mode %o): what is recorded passes through it", file, theirMode & 0o777, mode & 0o777),
                                   advice: String(format: "chmod %o %@", mode & 0o777, file)))
            }
        }
        if !out.contains(where: { $0.check == "companions" }) {
            out.append(Finding(check: "companions", level: .ok,
                               message: companions.isEmpty ? "no -wal or -shm file beside the ledger" : companions.joined(separator: " and ") + ": the ledger's owner's, no more open than it", advice: nil))
        }
        return out
    }

    /// Every case id and `reference` fact (of the catalogue's types) that `Identifiers` finds
    /// identifying: how many, and the first few with their seq. It chooses what to read by the
    /// stored copy columns (case ids, and the types that have reference facts, whose envelopes
    /// it decodes): `verify` is what shows those columns match the signed envelopes.
    static func identifyingFacts(_ db: Database) throws -> (count: Int, examples: [String]) {
        var count = 0
        var examples: [String] = []
        func found(_ seq: Int64, _ what: String, _ value: String, _ why: String) {
            count += 1
            if examples.count < 3 { examples.append("seq \(seq) \(what) \"\(value)\" \(why)") }
        }
        let ids = try Row.fetchCursor(db, sql: "SELECT MIN(seq), case_id FROM events WHERE case_id IS NOT NULL GROUP BY case_id ORDER BY 1")
        while let row = try ids.next() {
            guard case .int64(let seq) = (row[0] as DatabaseValue).storage, case .string(let c) = (row[1] as DatabaseValue).storage else { continue }
            if let why = Identifiers.concern(c) { found(seq, "case id", c, why) }
        }
        let fields: [String: [String]] = Catalogue.specs.compactMapValues { spec in
            let names = spec.fields.filter { if case .reference = $0.kind { return true } else { return false } }.map(\.name)
            return names.isEmpty ? nil : names
        }
        let types = fields.keys.sorted()
        let rows = try Row.fetchCursor(db, sql: """
            SELECT seq, CASE WHEN length(envelope) > \(Entry.maxCanonicalBytes) THEN x'' ELSE envelope END FROM events
            WHERE type IN (\(types.map { _ in "?" }.joined(separator: ","))) ORDER BY seq
            """, arguments: StatementArguments(types))
        while let row = try rows.next() {
            guard case .int64(let seq) = (row[0] as DatabaseValue).storage, case .blob(let bytes) = (row[1] as DatabaseValue).storage,
                let envelope = try? Envelope(json: JSONParser.parse([UInt8](bytes), mode: .canonical)) else { continue }
            for name in fields[envelope.type] ?? [] {
                guard let value = envelope.facts[name]?.stringValue, value != envelope.caseID, let why = Identifiers.concern(value) else { continue }
                found(seq, name, value, why)
            }
        }
        return (count, examples)
    }
}
