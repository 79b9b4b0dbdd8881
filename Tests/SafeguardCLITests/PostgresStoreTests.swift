import Foundation
import GRDB
import SafeguardCore
import SafeguardPostgres
import SafeguardService
import TestSupport
import XCTest

/// The ledger in PostgreSQL (docs/SCALE.md), against a real server this class starts: `migrate`
/// both ways without re-signing, `verify` from a URL with the file's results, the rules as
/// triggers and privileges, and a schema or rows changed by whoever holds the database.
final class PostgresStoreTests: XCTestCase {
    /// A new empty database on the run's PostgreSQL server.
    static func database() throws -> (server: PostgresServer, url: String, name: String) {
        let (server, name) = try PostgresServer.newDatabase()
        return (server, server.url(database: name), name)
    }

    /// A sealed demo ledger with a signed checkpoint, moved into a new database.
    func movedLedger(events: Int = 150) throws -> (cli: CLI, server: PostgresServer, url: String, db: String) {
        let cli = try CLI.withCheckpointKey(events: events, sealed: true)
        XCTAssertEqual(try cli.checkpoint(cli.path("cp.key"), root: cli.path("p/keys/root.key.pub"), "--out", cli.path("kept.checkpoint")).status, 0)
        let (server, url, db) = try Self.database()
        let r = try cli.run("migrate", "--from", cli.ledger, "--to", url, "--trust-file", cli.path("p/keys/root.key.pub"), "--service-role", "svc", "--reader-role", "auditor")
        XCTAssertEqual(r.status, 0, r.stderr)
        return (cli, server, url, db)
    }

    func verify(_ cli: CLI, _ ledger: String, _ extra: String...) throws -> CLI.Result {
        try cli.run(["verify", "--ledger", ledger, "--trust-file", cli.path("p/keys/root.key.pub"), "--json"] + extra)
    }

    func testTheSchemaIsExactlyWhatTheStatementsMake() throws {
        let (_, _, url, _) = try movedLedger(events: 40)
        let found = try blocking {
            let store = try await PostgresLedger.connect(url)
            let objects = try await store.objects()
            await store.close()
            return objects
        }
        if ProcessInfo.processInfo.environment["SAFEGUARD_PRINT_PG_SCHEMA"] != nil {
            print(found.map(\.description).joined(separator: "\n"))
        }
        XCTAssertEqual(PostgresSchema.differences(found), [], "the expected catalogue is out of date: regenerate it with SAFEGUARD_PRINT_PG_SCHEMA=1")
        XCTAssertEqual(Set(found), PostgresSchema.expected)
        XCTAssertGreaterThan(found.count, 100)
    }

    func testAMoveToPostgresAndBackKeepsTheLedgerAsItWas() throws {
        let (cli, _, url, _) = try movedLedger()
        // The same verification, from the database and from the file.
        let fromFile = try verify(cli, cli.ledger), fromStore = try verify(cli, url)
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertEqual(fromStore.status, 0, fromStore.stderr)
        XCTAssertEqual(fromStore.stdout, fromFile.stdout)
        // With a kept checkpoint, and from a kept state, too.
        let checkpoint = cli.path("kept.checkpoint")
        let withCheckpoint = ["--checkpoint", checkpoint, "--log-key", cli.path("log.vkey")]
        XCTAssertEqual(try verify(cli, url, withCheckpoint[0], withCheckpoint[1], withCheckpoint[2], withCheckpoint[3]).stdout,
                       try verify(cli, cli.ledger, withCheckpoint[0], withCheckpoint[1], withCheckpoint[2], withCheckpoint[3]).stdout)
        let state = try verify(cli, url, "--state", cli.path("auditor.state"))
        XCTAssertEqual(state.status, 0, state.stderr)

        // And back into a file: the same head, tree root, checkpoints and rows, nothing re-signed.
        let back = cli.path("back.sqlite")
        let r = try cli.run("migrate", "--from", url, "--to", back, "--trust-file", cli.path("p/keys/root.key.pub"), "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(#""ok":true"#), r.stdout)
        XCTAssertEqual(try verify(cli, back).stdout, fromFile.stdout)
        for table in ["events", "details", "tree_nodes", "checkpoints", "case_keys"] {
            let order = table == "case_keys" ? "case_id, agency" : table == "tree_nodes" ? "level, idx" : table == "checkpoints" ? "size" : "seq"
            let a = try DatabaseQueue(path: cli.ledger).read { try Row.fetchAll($0, sql: "SELECT * FROM \(table) ORDER BY \(order)") }
            let b = try DatabaseQueue(path: back).read { try Row.fetchAll($0, sql: "SELECT * FROM \(table) ORDER BY \(order)") }
            XCTAssertEqual(a, b, table)
            XCTAssertFalse(a.isEmpty, table)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: back)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o640)
    }

    /// An auditor's role reads the signed log, never a details record or a wrapped key; it
    /// verifies with the details withheld, and keeps a verified copy with `mirror --store`.
    func testAnAuditorsRoleReadsTheLogAndNoDetails() throws {
        let (cli, server, _, db) = try movedLedger(events: 80)
        let auditor = server.url(user: "auditor", database: db)
        for table in ["details", "case_keys"] {
            XCTAssertTrue(server.psqlError("SELECT count(*) FROM safeguard.\(table)", user: "auditor", database: db)?.contains("permission denied") == true, table)
        }
        let fromFile = try verify(cli, cli.ledger, "--details-withheld")
        // Red team, finding 1: details are withheld only when the reader says so, never because
        // a privilege was taken away.
        var r = try verify(cli, auditor)
        XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("may not read the ledger's details records") && r.stderr.contains("--details-withheld"), r.stderr)
        r = try verify(cli, auditor, "--details-withheld")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, fromFile.stdout)
        XCTAssertTrue(r.stdout.contains(#""details_withheld":true"#), r.stdout)
        // A details record changed past the rules is found by a role that may read it, even after
        // that role lost a privilege on the wrapped keys (it is refused, not passed).
        try server.psql("GRANT SELECT ON ALL TABLES IN SCHEMA safeguard TO auditor", database: db)
        try server.psql("ALTER TABLE safeguard.details DISABLE TRIGGER USER; UPDATE safeguard.details SET body = convert_to('{\"note\":\"FORGED\"}', 'UTF8') WHERE seq = 10; ALTER TABLE safeguard.details ENABLE TRIGGER USER", database: db)
        r = try verify(cli, auditor)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains(#""code":"details_mismatch""#), r.stdout)
        try server.psql("REVOKE SELECT ON safeguard.case_keys FROM auditor", database: db)
        r = try verify(cli, auditor)
        XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
        try server.psql("REVOKE SELECT ON safeguard.details FROM auditor", database: db)
        // A kept copy: the first run verifies in full and keeps a state; later runs add what is new.
        let copy = cli.path("auditor-copy.sqlite")
        var m = try cli.run("mirror", "--store", auditor, "--ledger", copy, "--trust-file", cli.path("p/keys/root.key.pub"), "--json")
        XCTAssertEqual(m.status, 4, m.stderr)
        m = try cli.run("mirror", "--store", auditor, "--ledger", copy, "--trust-file", cli.path("p/keys/root.key.pub"), "--details-withheld", "--json")
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.contains(#""details_withheld":true"#), m.stdout)
        XCTAssertEqual(try DatabaseQueue(path: copy).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM details") }, 0)
        XCTAssertEqual(try DatabaseQueue(path: copy).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM case_keys") }, 0)
        m = try cli.run("mirror", "--store", auditor, "--ledger", copy, "--trust-file", cli.path("p/keys/root.key.pub"), "--details-withheld", "--json")
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.contains(#""added":0"#), m.stdout)
        let v = try verify(cli, copy, "--details-withheld")
        XCTAssertEqual(v.stdout, fromFile.stdout)
        // Copying from a service needs its keys; from a store, a URL.
        m = try cli.run("mirror", "--ledger", copy, "--trust-file", cli.path("p/keys/root.key.pub"))
        XCTAssertEqual(m.status, 2, m.stderr)
        XCTAssertTrue(m.stderr.contains("needs --key"), m.stderr)
    }

    func testAMoveIsRefusedWhereItWouldOverwriteOrCannotReach() throws {
        let (cli, server, url, _) = try movedLedger(events: 40)
        let root = cli.path("p/keys/root.key.pub")
        // A database that holds a ledger already; a file that exists; two files; a bad URL; no server.
        var r = try cli.run("migrate", "--from", cli.ledger, "--to", url, "--trust-file", root)
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("already holds a ledger of"), r.stderr)
        r = try cli.run("migrate", "--from", url, "--to", cli.ledger, "--trust-file", root)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("already exists"), r.stderr)
        r = try cli.run("migrate", "--from", cli.ledger, "--to", cli.path("x.sqlite"), "--trust-file", root)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("one of them must be a postgres:// URL"), r.stderr)
        r = try cli.run("verify", "--ledger", "postgres://u@127.0.0.1:notaport/x", "--trust-file", root)
        XCTAssertEqual(r.status, 2, r.stderr)
        r = try cli.run("verify", "--ledger", "postgres://u@127.0.0.1:1/x?sslmode=disable", "--trust-file", root)
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("PostgreSQL at postgres://u@127.0.0.1:1/x"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        // A database with no ledger in it.
        try server.psql("CREATE DATABASE empty_one")
        r = try cli.run("verify", "--ledger", server.url(database: "empty_one"), "--trust-file", root)
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("holds no ledger (no schema 'safeguard')"), r.stderr)
        // A ledger in PostgreSQL is written by the service only.
        r = try cli.run(["append", "--ledger", url, "--key", cli.path("p/keys/police.key"), "--file", "-"], stdin: Data(CLI.contact("C-0001").utf8))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("written only by its log service"), r.stderr)
    }

    func testTheRulesHoldAsTriggersAndAsPrivileges() throws {
        let (_, server, _, db) = try movedLedger(events: 40)
        // The service's role: SELECT and INSERT only, so changing anything is refused before a rule is asked.
        for sql in ["UPDATE safeguard.events SET type = 'x' WHERE seq = 3", "DELETE FROM safeguard.events WHERE seq = 3", "TRUNCATE safeguard.events",
                    "DELETE FROM safeguard.details", "UPDATE safeguard.case_keys SET agency = 'x'", "DELETE FROM safeguard.checkpoints",
                    "DELETE FROM safeguard.tree_nodes", "DELETE FROM safeguard.case_keys"] {
            let e = server.psqlError(sql, user: "svc", database: db)
            XCTAssertTrue(e?.contains("permission denied") == true, "\(sql): \(e ?? "allowed")")
        }
        XCTAssertEqual(try server.psql("SELECT count(*) > 0 FROM safeguard.events", user: "svc", database: db), "t")
        // The auditor's role reads only.
        XCTAssertTrue(server.psqlError("INSERT INTO safeguard.checkpoints VALUES (999999, '\\x00', '\\x00', '2026-01-01T00:00:00Z')", user: "auditor", database: db)?
            .contains("permission denied") == true)
        // The owner, who may: refused by the rules.
        let refusals: [(String, String)] = [
            ("UPDATE safeguard.events SET type = 'x' WHERE seq = 3", "events are append-only"),
            ("DELETE FROM safeguard.events WHERE seq = 39", "events are append-only"),
            ("TRUNCATE safeguard.events CASCADE", "events are append-only"),
            ("TRUNCATE safeguard.details", "details are deleted only"),
            ("INSERT INTO safeguard.events SELECT seq + 100, event_id || 'x', type, case_id, agency, key_id, occurred_at, recorded_at, prev_hash, envelope, signature, entry_hash FROM safeguard.events WHERE seq = 5",
             "must extend the chain"),
            ("DELETE FROM safeguard.details WHERE seq = 10", "deleted only when a later retention review destroyed"),
            ("UPDATE safeguard.details SET body = body WHERE seq = 10", "details are append-only"),
            ("UPDATE safeguard.tree_nodes SET hash = hash", "the Merkle tree is append-only"),
            ("INSERT INTO safeguard.checkpoints SELECT size - 1, root, note, signed_at FROM safeguard.checkpoints", "must be larger than the last one"),
            ("UPDATE safeguard.ledger_format SET format_version = 4", "the ledger format is fixed"),
            ("SELECT safeguard.erase_case('C-0001', 20)", "no retention review at seq 20 destroyed case"),
        ]
        for (sql, message) in refusals {
            let e = server.psqlError(sql, database: db)
            XCTAssertTrue(e?.contains(message) == true, "\(sql): \(e ?? "allowed")")
        }
        // A details record put back beside an old event (the erasure undone) is refused, in a
        // transaction of its own.
        try server.psql("CREATE TABLE public.kept AS SELECT * FROM safeguard.details WHERE seq = 12", database: db)
        XCTAssertTrue(server.psqlError("INSERT INTO safeguard.details SELECT * FROM public.kept", database: db)?.contains("written with its event") == true)
    }

    /// Whoever owns the database can change its schema: verify reads the catalogue and refuses
    /// any object that is not the format's, or a format object changed or switched off.
    func testAChangedSchemaFailsVerification() throws {
        let (cli, server, url, db) = try movedLedger(events: 40)
        let changes: [(change: String, undo: String, code: String)] = [
            ("CREATE FUNCTION safeguard.hide() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$", "DROP FUNCTION safeguard.hide()", "unknown_schema_object"),
            ("ALTER TABLE safeguard.events DISABLE TRIGGER events_append_only", "ALTER TABLE safeguard.events ENABLE TRIGGER events_append_only", "altered_table"),
            ("CREATE TABLE public.more (extra int) INHERITS (safeguard.events)", "DROP TABLE public.more", "unknown_schema_object"),
            ("ALTER TABLE safeguard.events ENABLE ROW LEVEL SECURITY", "ALTER TABLE safeguard.events DISABLE ROW LEVEL SECURITY", "altered_table"),
            ("CREATE POLICY few ON safeguard.events USING (seq < 10)", "DROP POLICY few ON safeguard.events", "unknown_schema_object"),
            ("ALTER TABLE safeguard.details SET UNLOGGED", "ALTER TABLE safeguard.details SET LOGGED", "altered_table"),
            ("CREATE VIEW safeguard.v AS SELECT 1", "DROP VIEW safeguard.v", "unknown_schema_object"),
            ("DROP INDEX safeguard.events_by_type", "CREATE INDEX events_by_type ON safeguard.events (type, seq)", "altered_table"),
            ("ALTER TABLE safeguard.events DROP CONSTRAINT events_envelope_check",
             "ALTER TABLE safeguard.events ADD CONSTRAINT events_envelope_check CHECK (octet_length(envelope) <= 1048576)", "altered_table"),
            ("CREATE RULE skip AS ON INSERT TO safeguard.events DO INSTEAD NOTHING", "DROP RULE skip ON safeguard.events", "unknown_schema_object"),
            ("CREATE OR REPLACE FUNCTION safeguard.extend_chain() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$ BEGIN RETURN NEW; END $$", "", "altered_table"),
        ]
        XCTAssertEqual(try verify(cli, url).status, 0)
        for c in changes {
            try server.psql(c.change, database: db)
            let r = try verify(cli, url)
            XCTAssertEqual(r.status, 1, "\(c.change): \(r.stdout) \(r.stderr)")
            XCTAssertTrue(r.stdout.contains(#""code":"\#(c.code)""#), "\(c.change): \(r.stdout) \(r.stderr)")
            if !c.undo.isEmpty {
                try server.psql(c.undo, database: db)
                XCTAssertEqual(try verify(cli, url).status, 0, "after undoing \(c.change)")
            }
        }
    }

    /// Rows changed past the rules (the owner switching a trigger off for a moment) fail
    /// verification from PostgreSQL exactly as the same change fails it in a file.
    func testRowsChangedPastTheRulesFailAsTheyWouldInAFile() throws {
        let (cli, server, url, db) = try movedLedger(events: 60)
        let fileChanges: [(pg: String, sqlite: String)] = [
            ("UPDATE safeguard.events SET envelope = overlay(envelope placing '\\x20'::bytea from 30 for 1) WHERE seq = 20",
             "UPDATE events SET envelope = CAST(substr(envelope, 1, 29) || x'20' || substr(envelope, 31) AS BLOB) WHERE seq = 20"),
            ("UPDATE safeguard.events SET agency = 'csc' WHERE seq = 21 AND agency <> 'csc'", "UPDATE events SET agency = 'csc' WHERE seq = 21 AND agency <> 'csc'"),
            ("DELETE FROM safeguard.events WHERE seq = (SELECT max(seq) FROM safeguard.events)", "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)"),
            ("UPDATE safeguard.details SET body = overlay(body placing '\\x00'::bytea from 5 for 1) WHERE seq = 30",
             "UPDATE details SET body = CAST(substr(body, 1, 4) || x'00' || substr(body, 6) AS BLOB) WHERE seq = 30"),
            ("UPDATE safeguard.tree_nodes SET hash = decode(repeat('00', 32), 'hex') WHERE level = 2 AND idx = 3",
             "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 3"),
        ]
        for (i, change) in fileChanges.enumerated() {
            // A fresh database each time, so each change is judged alone.
            let (_, url2, db2) = i == 0 ? (server, url, db) : try Self.database()
            if i > 0 {
                let r = try cli.run("migrate", "--from", cli.ledger, "--to", url2, "--trust-file", cli.path("p/keys/root.key.pub"))
                XCTAssertEqual(r.status, 0, r.stderr)
            }
            let table = change.pg.split(separator: " ").first(where: { $0.hasPrefix("safeguard.") })!.dropFirst("safeguard.".count)
            try server.psql("ALTER TABLE safeguard.\(table) DISABLE TRIGGER USER; \(change.pg); ALTER TABLE safeguard.\(table) ENABLE TRIGGER USER", database: db2)
            let copy = try cli.tamperedCopy("t\(i).sqlite") { try $0.execute(sql: change.sqlite) }
            let a = try verify(cli, url2), b = try verify(cli, copy)
            XCTAssertEqual(a.status, 1, "\(change.pg): \(a.stdout) \(a.stderr)")
            XCTAssertEqual(a.stdout, b.stdout, change.pg)
        }
    }
}

/// A primary and a streaming standby with synchronous replication: the service appends to the
/// primary, an auditor verifies from the standby, the primary is killed with SIGKILL, and the
/// standby, promoted, holds every event the service acknowledged, in one chain, and takes the
/// service from there.
final class PostgresReplicationTests: XCTestCase {
    func testEveryAcknowledgedEventSurvivesTheLossOfThePrimary() throws {
        let primary = try PostgresServer.start()
        defer { primary.remove() }
        var cli = try PostgresRedTeamTests.servedStore(primary)
        var r: CLI.Result

        // The standby, then synchronous replication: a commit returns once the standby has it.
        let standby = try PostgresServer.standby(of: primary, name: "standby1")
        defer { standby.remove() }
        try primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
        try primary.psql("SELECT pg_reload_conf()")
        let deadline = Date().addingTimeInterval(30)
        while try primary.psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1" {
            XCTAssertLessThan(Date(), deadline, "the standby never became synchronous")
            usleep(100_000)
        }
        XCTAssertEqual(try standby.psql("SELECT pg_is_in_recovery()"), "t")

        let service = try ServiceProcess.start(cli, extra: ["--store-timeout", "3"])
        defer { service.stop() }
        let police = try KeyFile.decode(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key"))).map { $0 }, passphrase: { nil })
        let client = try LogClient(server: service.url)
        let acknowledged = Locked<[String]>([])
        let group = DispatchGroup()
        for t in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                for i in 0..<400 {
                    let d = EventDraft(type: "contact.recorded", caseID: "C-0001", occurredAt: Timestamp(rfc3339: "2026-03-01T10:00:00Z")!,
                                       facts: ["contact_type": "phone", "indicators": .array([.string("A\(1 + (t + i) % 19)")])])
                    guard let r = try? client.submit([d], key: police) else { return }
                    acknowledged.mutate { $0.append(r[0].0.eventID) }
                }
            }
        }
        while acknowledged.value.count < 40 { usleep(10_000) }
        // An auditor verifies from the standby while the service writes to the primary.
        let auditorOnStandby = standby.url(user: "auditor", database: "ledger")
        r = try cli.run("verify", "--ledger", auditorOnStandby, "--trust-file", cli.path("root.key.pub"), "--details-withheld")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        while acknowledged.value.count < 120 { usleep(10_000) }

        // The primary's machine is lost.
        primary.kill()
        group.wait()
        service.kill()
        let kept = acknowledged.value
        XCTAssertGreaterThanOrEqual(kept.count, 120)
        try standby.promote()
        XCTAssertEqual(try standby.psql("SELECT pg_is_in_recovery()"), "f")

        // Every acknowledged event is there, in one chain that verifies.
        r = try cli.run("verify", "--ledger", standby.url(database: "ledger"), "--trust-file", cli.path("root.key.pub"), "--json")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let log = try cli.run("log", "--ledger", standby.url(database: "ledger"), "--json")
        XCTAssertEqual(log.status, 0, log.stderr)
        let missing = kept.filter { !log.stdout.contains($0) }
        XCTAssertEqual(missing, [], "acknowledged events missing after the primary was lost")

        // The service starts again on the promoted standby and goes on from there.
        cli.env["SAFEGUARD_LEDGER"] = standby.url(user: "svc", database: "ledger")
        let again = try ServiceProcess.start(cli)
        defer { again.stop() }
        r = try cli.run("record", "contact", "--server", again.url, "--key", cli.path("police.key"), "--case", "C-0001", "--how", "phone")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(again.terminate(), 0)
        r = try cli.run("verify", "--ledger", auditorOnStandby, "--trust-file", cli.path("root.key.pub"), "--details-withheld")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }
}

/// docs/FORMAT.md §10.1 gives the PostgreSQL schema's statements, exactly those `migrate` runs.
final class PostgresFormatDocTests: XCTestCase {
    static var documented: String {
        "<!-- pg-schema:begin -->\n```sql\n" + PostgresSchema.statements.map { $0 + ";" }.joined(separator: "\n\n") + "\n```\n<!-- pg-schema:end -->"
    }

    func testFormatGivesThePostgreSQLStatementsExactly() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/FORMAT.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let a = text.range(of: "<!-- pg-schema:begin -->"), let b = text.range(of: "<!-- pg-schema:end -->") else {
            return XCTFail("docs/FORMAT.md has no pg-schema block")
        }
        if ProcessInfo.processInfo.environment["SAFEGUARD_PRINT_PG_SCHEMA"] != nil { print(Self.documented) }
        XCTAssertEqual(String(text[a.lowerBound..<b.upperBound]), Self.documented, "regenerate the block with SAFEGUARD_PRINT_PG_SCHEMA=1")
    }
}

/// The red team's findings against the service and readers on PostgreSQL, each kept as a test
/// (docs/SCALE.md): a server of this class's own, since some change cluster-wide settings.
final class PostgresRedTeamTests: XCTestCase {
    func setUpStore(_ server: PostgresServer) throws -> CLI { try Self.servedStore(server) }

    /// `CLI.makeLedger`'s ledger with a log key, moved into database `ledger` on `server` (roles
    /// `svc` for the service, `auditor` to read), and $SAFEGUARD_LEDGER naming it as `svc`.
    static func servedStore(_ server: PostgresServer) throws -> CLI {
        try server.psql("CREATE ROLE svc LOGIN")
        try server.psql("CREATE ROLE auditor LOGIN")
        try server.psql("CREATE DATABASE ledger")
        var cli = try CLI()
        try cli.makeLedger()
        XCTAssertEqual(try cli.run("keys", "generate", "--out", cli.path("log.key"), "--unprotected").status, 0)
        XCTAssertEqual(try cli.run("keys", "set-log-key", "--key", cli.path("root.key"), "--public", cli.path("log.key.pub")).status, 0)
        let r = try cli.run("migrate", "--from", cli.ledger, "--to", server.url(database: "ledger"), "--trust-file", cli.path("root.key.pub"),
                            "--service-role", "svc", "--reader-role", "auditor")
        XCTAssertEqual(r.status, 0, r.stderr)
        cli.env["SAFEGUARD_LEDGER"] = server.url(user: "svc", database: "ledger")
        return cli
    }

    /// Finding 2: the owner changes a table's definition (row security hiding the tail) while a
    /// reader's check is under way: the reader locks the tables before it checks, so it sees
    /// the change and refuses.
    func testADefinitionChangedDuringTheReadIsSeen() throws {
        let server = try PostgresServer.start()
        defer { server.remove() }
        let cli = try setUpStore(server)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = server.psqlError("""
                BEGIN; LOCK TABLE safeguard.events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2);
                ALTER TABLE safeguard.events ENABLE ROW LEVEL SECURITY; CREATE POLICY h ON safeguard.events FOR SELECT USING (seq < 5); COMMIT;
                """, database: "ledger")
            done.signal()
        }
        usleep(700_000)
        let r = try cli.run("verify", "--ledger", server.url(user: "auditor", database: "ledger"), "--trust-file", cli.path("root.key.pub"), "--details-withheld", "--json")
        done.wait()
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("altered_table") || r.stdout.contains("unknown_schema_object"), r.stdout)
    }

    /// Finding 3: a role that may only read holds the lock a writer might take: the service goes on.
    func testAReaderCannotStopTheService() throws {
        let server = try PostgresServer.start()
        defer { server.remove() }
        let cli = try setUpStore(server)
        let service = try ServiceProcess.start(cli, extra: ["--store-timeout", "3"])
        defer { service.stop() }
        let held = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = server.psqlError("SELECT pg_advisory_lock(1397181511); SELECT pg_advisory_lock(1); SELECT pg_sleep(6)", user: "auditor", database: "ledger")
            held.signal()
        }
        usleep(500_000)
        let started = Date()
        let r = try cli.run("record", "contact", "--server", service.url, "--key", cli.path("police.key"), "--case", "C-0001", "--how", "phone")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the reader's lock held the service up")
        held.wait()
        XCTAssertEqual(service.terminate(), 0)
    }

    /// Finding 5: a role that could gain more than reading and adding rows is refused at start.
    func testTheServiceRefusesARoleThatCouldGainMore() throws {
        let server = try PostgresServer.start()
        defer { server.remove() }
        let cli = try setUpStore(server)
        let grants: [(grant: String, revoke: String, said: String)] = [
            ("ALTER ROLE svc NOINHERIT; GRANT \(PostgresServer.owner) TO svc", "REVOKE \(PostgresServer.owner) FROM svc; ALTER ROLE svc INHERIT", "member of"),
            ("ALTER ROLE svc CREATEROLE", "ALTER ROLE svc NOCREATEROLE", "may create roles"),
            ("GRANT UPDATE (type) ON safeguard.events TO svc", "REVOKE UPDATE (type) ON safeguard.events FROM svc", "UPDATE on events"),
            ("GRANT TRIGGER ON safeguard.events TO svc", "REVOKE TRIGGER ON safeguard.events FROM svc", "TRIGGER on events"),
            ("GRANT CREATE ON SCHEMA safeguard TO svc", "REVOKE CREATE ON SCHEMA safeguard FROM svc", "CREATE on the schema"),
            ("GRANT DELETE ON safeguard.details TO svc", "REVOKE DELETE ON safeguard.details FROM svc", "DELETE on details"),
        ]
        for g in grants {
            try server.psql(g.grant, database: "ledger")
            let r = try cli.run("serve", "--store", server.url(user: "svc", database: "ledger"), "--log-key", cli.path("log.key"),
                                "--trust-file", cli.path("root.key.pub"), "--listen", "127.0.0.1:0")
            XCTAssertEqual(r.status, 4, "\(g.grant): \(r.stdout) \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(g.said), "\(g.grant): \(r.stderr)")
            try server.psql(g.revoke, database: "ledger")
        }
    }
}
