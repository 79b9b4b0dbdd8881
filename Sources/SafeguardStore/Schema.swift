import Foundation
import GRDB
import SafeguardCore

/// The ledger file's schema (docs/FORMAT.md, "The ledger file"). Migrations are frozen once
/// shipped: add a new one, never edit an old one.
enum Schema {
    /// `PRAGMA application_id`: "SGLG".
    static let applicationID: Int32 = 0x5347_4C47
    /// `PRAGMA user_version`: the ledger file format this code writes and reads.
    static let formatVersion = 5

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                  seq         INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 0),
                  event_id    TEXT NOT NULL UNIQUE CHECK (length(event_id) = 36),
                  type        TEXT NOT NULL,
                  case_id     TEXT,
                  agency      TEXT NOT NULL,
                  key_id      TEXT NOT NULL CHECK (length(key_id) = 32),
                  occurred_at TEXT NOT NULL CHECK (length(occurred_at) = 20),
                  recorded_at TEXT NOT NULL CHECK (length(recorded_at) = 20),
                  prev_hash   BLOB NOT NULL CHECK (typeof(prev_hash) = 'blob' AND length(prev_hash) = 32),
                  envelope    BLOB NOT NULL CHECK (typeof(envelope) = 'blob' AND length(envelope) <= 1048576),
                  signature   BLOB NOT NULL CHECK (typeof(signature) = 'blob' AND length(signature) = 64),
                  entry_hash  BLOB NOT NULL CHECK (typeof(entry_hash) = 'blob' AND length(entry_hash) = 32)
                );
                CREATE INDEX events_by_case ON events(case_id, seq) WHERE case_id IS NOT NULL;
                CREATE INDEX events_by_type ON events(type, seq);
                CREATE INDEX events_by_agency ON events(agency, seq);
                CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, 'safeguard: events are append-only; record a correction event instead'); END;
                CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, 'safeguard: events are append-only; nothing is ever deleted'); END;
                CREATE TRIGGER events_extend_chain BEFORE INSERT ON events
                WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq) + 1, 0) FROM events)
                  OR NEW.prev_hash IS NOT COALESCE((SELECT entry_hash FROM events WHERE seq = NEW.seq - 1), zeroblob(32))
                BEGIN SELECT RAISE(ABORT, 'safeguard: an event must extend the chain at its head'); END;
                """)
        }
        // Format 2: the complete subtrees of the Merkle tree over the entries (docs/FORMAT.md,
        // "The Merkle tree"), so that roots and proofs cost O(log n) reads. Filled for the events
        // already there; from then on, each append adds the subtrees it completes.
        m.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TABLE tree_nodes (
                  level INTEGER NOT NULL CHECK (level >= 1),
                  idx   INTEGER NOT NULL CHECK (idx >= 0),
                  hash  BLOB NOT NULL CHECK (typeof(hash) = 'blob' AND length(hash) = 32),
                  PRIMARY KEY (level, idx)
                ) WITHOUT ROWID;
                CREATE TRIGGER tree_nodes_append_only_update BEFORE UPDATE ON tree_nodes
                BEGIN SELECT RAISE(ABORT, 'safeguard: the Merkle tree is append-only'); END;
                CREATE TRIGGER tree_nodes_append_only_delete BEFORE DELETE ON tree_nodes
                BEGIN SELECT RAISE(ABORT, 'safeguard: the Merkle tree is append-only'); END;
                """)
            // One pass over the entry hashes, the tree's right edge in memory: only inserts.
            var frontier = MerkleFrontier()
            let insert = try db.makeStatement(sql: "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)")
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, entry_hash FROM events ORDER BY seq")
            while let row = try rows.next() {
                guard try RowReader.integer(row, 0, "seq") == frontier.size else {
                    throw LedgerError.sqlite(path: "", message: "the events are not numbered 0, 1, 2, …: run 'safeguard verify' before upgrading this file")
                }
                for node in frontier.append(try RowReader.blob(row, 1, "entry_hash")) {
                    try insert.execute(arguments: [node.level, node.index, Data(node.hash)])
                }
            }
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        // Format 3: the checkpoints the log has signed (docs/FORMAT.md, "Checkpoints"), kept so
        // that it never signs one inconsistent with an earlier one.
        m.registerMigration("v3") { db in
            try db.execute(sql: """
                CREATE TABLE checkpoints (
                  size       INTEGER PRIMARY KEY NOT NULL CHECK (size >= 0),
                  root       BLOB NOT NULL CHECK (typeof(root) = 'blob' AND length(root) = 32),
                  note       BLOB NOT NULL CHECK (typeof(note) = 'blob'),
                  signed_at  TEXT NOT NULL CHECK (length(signed_at) = 20)
                );
                CREATE TRIGGER checkpoints_append_only_update BEFORE UPDATE ON checkpoints
                BEGIN SELECT RAISE(ABORT, 'safeguard: checkpoints are append-only'); END;
                CREATE TRIGGER checkpoints_append_only_delete BEFORE DELETE ON checkpoints
                BEGIN SELECT RAISE(ABORT, 'safeguard: checkpoints are append-only'); END;
                CREATE TRIGGER checkpoints_grow BEFORE INSERT ON checkpoints
                WHEN NEW.size <= (SELECT COALESCE(MAX(size), -1) FROM checkpoints)
                BEGIN SELECT RAISE(ABORT, 'safeguard: a checkpoint must be larger than the last one'); END;
                PRAGMA user_version = 3;
                """)
        }
        // Format 4: the details records of envelope format 2 (docs/FORMAT.md, "Details records"),
        // outside the signed envelopes, which commit to them by digest. A record is written with
        // its event, at the head, and never changed. And an index by case and type, so that
        // checking a new event against its case's opening costs a lookup, not a walk of the case.
        m.registerMigration("v4") { db in
            try db.execute(sql: """
                CREATE TABLE details (
                  seq   INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 0),
                  salt  BLOB NOT NULL CHECK (typeof(salt) = 'blob' AND length(salt) = 32),
                  body  BLOB NOT NULL CHECK (typeof(body) = 'blob' AND length(body) <= 1048576)
                );
                CREATE TRIGGER details_append_only_update BEFORE UPDATE ON details
                BEGIN SELECT RAISE(ABORT, 'safeguard: details are append-only; record a correction event instead'); END;
                CREATE TRIGGER details_append_only_delete BEFORE DELETE ON details
                BEGIN SELECT RAISE(ABORT, 'safeguard: details are append-only'); END;
                CREATE TRIGGER details_at_head BEFORE INSERT ON details
                WHEN NEW.seq IS NOT (SELECT MAX(seq) FROM events)
                BEGIN SELECT RAISE(ABORT, 'safeguard: a details record is written with its event, at the head'); END;
                CREATE INDEX IF NOT EXISTS events_by_case_type ON events(case_id, type, seq) WHERE case_id IS NOT NULL;
                PRAGMA user_version = 4;
                """)
        }
        // Format 5: each case's data key, wrapped for each agency entitled to the case's sealed
        // details (docs/FORMAT.md §3.5). Not part of what is signed: a changed row can only keep
        // an agency from reading (the details do not open), never change what they say. Rows are
        // added as cases are opened and shared, and deleted only to destroy a case's key. And a
        // case's details records may be deleted once a later retention review destroyed them.
        m.registerMigration("v5") { db in
            try db.execute(sql: """
                DROP TRIGGER details_append_only_delete;
                CREATE TRIGGER details_deleted_when_destroyed BEFORE DELETE ON details
                WHEN NOT EXISTS (SELECT 1 FROM events e, events r WHERE e.seq = OLD.seq AND e.case_id IS NOT NULL
                  AND r.type = 'governance.retention_review' AND r.seq > e.seq
                  AND instr(r.envelope, '"case_ref":' || json_quote(e.case_id)) > 0 AND instr(r.envelope, '"decision":"destroyed"') > 0)
                BEGIN SELECT RAISE(ABORT, 'safeguard: details are deleted only when a later retention review destroyed their case'); END;
                CREATE TABLE case_keys (
                  case_id TEXT NOT NULL CHECK (length(case_id) BETWEEN 1 AND 64),
                  agency  TEXT NOT NULL CHECK (length(agency) BETWEEN 1 AND 32),
                  wrapped BLOB NOT NULL CHECK (typeof(wrapped) = 'blob' AND length(wrapped) = 72),
                  wrapped_by TEXT NOT NULL CHECK (length(wrapped_by) = 32),
                  PRIMARY KEY (case_id, agency)
                ) WITHOUT ROWID;
                CREATE TRIGGER case_keys_never_changed BEFORE UPDATE ON case_keys
                BEGIN SELECT RAISE(ABORT, 'safeguard: a wrapped case key is never changed'); END;
                PRAGMA user_version = 5;
                """)
        }
        return m
    }

    /// One row of `sqlite_master`: a table, index, trigger or view, with the statement SQLite
    /// keeps for it (nil for the indexes SQLite makes itself, such as a UNIQUE column's).
    struct Object: Hashable, Sendable {
        let type: String
        let name: String
        let table: String
        let sql: String?
    }

    /// What `sqlite_master` holds in an unaltered file of format `version`, nothing more and
    /// nothing less: read from a scratch in-memory database migrated to that version, so it is
    /// exactly the text SQLite keeps for the statements the migrations run. Empty (so that
    /// every file is refused) if that database cannot be made.
    static func expected(version: Int) -> Set<Object> { expectedByVersion[version] ?? [] }

    private static let expectedByVersion: [Int: Set<Object>] = {
        var out: [Int: Set<Object>] = [:]
        for version in 1...formatVersion {
            guard let q = try? DatabaseQueue(), (try? migrator.migrate(q, upTo: "v\(version)")) != nil,
                let objects = try? q.read({ try objectsOf($0) })
            else { continue }
            out[version] = Set(objects)
        }
        return out
    }()

    /// The longest statement text read from a file's `sqlite_master`: longer ones are not
    /// ours, and are not read into memory.
    static let maxStatement = 4096

    /// The objects in `db`'s `sqlite_master` (the file's own schema: not the temporary one).
    static func objectsOf(_ db: Database) throws -> [Object] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT type, name, tbl_name, CASE WHEN length(sql) <= \(maxStatement) THEN sql END, sql IS NULL FROM sqlite_master ORDER BY rowid LIMIT 1000
            """)
        return rows.map { r in
            let type = (r[0] as String?) ?? "", name = (r[1] as String?) ?? "", table = (r[2] as String?) ?? ""
            // A statement too long to read stands as one that matches nothing we write.
            let sql = (r[3] as String?) ?? ((r[4] as Bool?) == true ? nil : "(a statement over \(maxStatement) characters)")
            return Object(type: type, name: name, table: table, sql: sql)
        }
    }

    /// How a file's schema differs from its format's: objects that are not the format's
    /// (planted triggers, views, indexes), and the format's objects that are missing or whose
    /// statement differs. Empty for an unaltered file.
    struct Difference: Equatable, Sendable, CustomStringConvertible {
        enum Kind: Equatable, Sendable { case unknown, altered, missing }
        let kind: Kind
        let object: Object

        var description: String {
            switch kind {
            case .unknown: return "the file holds a \(object.type) '\(object.name)' that is not part of the ledger format"
            case .altered: return "the file's \(object.type) '\(object.name)' is not defined as the ledger format defines it"
            case .missing: return "the file has no \(object.type) '\(object.name)', which the ledger format defines"
            }
        }
    }

    static func differences(_ db: Database, version: Int) throws -> [Difference] {
        let expected = Self.expected(version: version)
        let byName = Dictionary(expected.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let found = try objectsOf(db)
        var out: [Difference] = []
        var seen = Set<String>()
        for o in found {
            seen.insert(o.name)
            guard let e = byName[o.name] else { out.append(Difference(kind: .unknown, object: o)); continue }
            if e != o { out.append(Difference(kind: .altered, object: o)) }
        }
        for e in expected.sorted(by: { $0.name < $1.name }) where !seen.contains(e.name) {
            out.append(Difference(kind: .missing, object: e))
        }
        return out
    }

    /// Refuses a file whose schema is not exactly its format's (docs/FORMAT.md §10): the
    /// first difference, as a verification failure (`unknown_schema_object` or
    /// `altered_table`). A planted trigger could silently drop appends, a view or a changed
    /// table could show rows that are not there, and an index could be left stale; so every
    /// verification, append and evidence bundle checks this before reading anything else.
    static func check(_ db: Database) throws {
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        guard let first = try differences(db, version: version).first else { return }
        let what = "\(first.object.type) '\(first.object.name)'"
        throw VerificationFailure(seq: 0, eventID: nil, reason: first.kind == .unknown ? .unknownSchemaObject(what) : .alteredTable(what))
    }

    /// The triggers whose presence `doctor` and the tests check.
    static let triggers = ["events_append_only_update", "events_append_only_delete", "events_extend_chain",
                           "tree_nodes_append_only_update", "tree_nodes_append_only_delete",
                           "checkpoints_append_only_update", "checkpoints_append_only_delete", "checkpoints_grow",
                           "details_append_only_update", "details_deleted_when_destroyed", "details_at_head", "case_keys_never_changed"]
}
