import Foundation

/// The ledger in PostgreSQL (docs/SCALE.md, docs/FORMAT.md §10.2): the file's tables with the
/// same columns and the same rules, in a schema of their own, `safeguard`. Each rule the file's
/// triggers enforce is a trigger here too, and the service's role is granted only SELECT and
/// INSERT (and the two erasure functions), so an append-only log needs both a rule and a
/// privilege to be broken. Like the file's, the schema is untrusted input: `PostgresSchema.check`
/// compares it, object by object, with what `statements` makes.
public enum PostgresSchema {
    /// The schema every object lives in.
    public static let name = "safeguard"

    /// The ledger format this schema holds (the file's `user_version`), and its application id.
    public static let formatVersion = 5
    public static let applicationID: Int32 = 0x5347_4C47

    /// The statements that make the schema, in order, each one statement (the extended
    /// protocol takes one at a time). Frozen like the file's migrations: a new format adds.
    public static let statements: [String] = [
        "CREATE SCHEMA safeguard",
        """
        CREATE TABLE safeguard.ledger_format (
          one_row bool PRIMARY KEY DEFAULT true CHECK (one_row),
          application_id integer NOT NULL CHECK (application_id = \(applicationID)),
          format_version integer NOT NULL CHECK (format_version = \(formatVersion))
        )
        """,
        "INSERT INTO safeguard.ledger_format (application_id, format_version) VALUES (\(applicationID), \(formatVersion))",
        """
        CREATE TABLE safeguard.events (
          seq         bigint PRIMARY KEY CHECK (seq >= 0),
          event_id    text NOT NULL UNIQUE CHECK (length(event_id) = 36),
          type        text NOT NULL,
          case_id     text,
          agency      text NOT NULL,
          key_id      text NOT NULL CHECK (length(key_id) = 32),
          occurred_at text NOT NULL CHECK (length(occurred_at) = 20),
          recorded_at text NOT NULL CHECK (length(recorded_at) = 20),
          prev_hash   bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
          envelope    bytea NOT NULL CHECK (octet_length(envelope) <= 1048576),
          signature   bytea NOT NULL CHECK (octet_length(signature) = 64),
          entry_hash  bytea NOT NULL CHECK (octet_length(entry_hash) = 32)
        )
        """,
        // What the erasure rules look up: a case's events, and the retention reviews.
        "CREATE INDEX events_by_case ON safeguard.events (case_id, seq) WHERE case_id IS NOT NULL",
        "CREATE INDEX events_by_type ON safeguard.events (type, seq)",
        """
        CREATE TABLE safeguard.tree_nodes (
          level integer NOT NULL CHECK (level >= 1),
          idx   bigint NOT NULL CHECK (idx >= 0),
          hash  bytea NOT NULL CHECK (octet_length(hash) = 32),
          PRIMARY KEY (level, idx)
        )
        """,
        """
        CREATE TABLE safeguard.checkpoints (
          size      bigint PRIMARY KEY CHECK (size >= 0),
          root      bytea NOT NULL CHECK (octet_length(root) = 32),
          note      bytea NOT NULL,
          signed_at text NOT NULL CHECK (length(signed_at) = 20)
        )
        """,
        """
        CREATE TABLE safeguard.details (
          seq  bigint PRIMARY KEY CHECK (seq >= 0),
          salt bytea NOT NULL CHECK (octet_length(salt) = 32),
          body bytea NOT NULL CHECK (octet_length(body) <= 1048576)
        )
        """,
        """
        CREATE TABLE safeguard.case_keys (
          case_id    text NOT NULL CHECK (length(case_id) BETWEEN 1 AND 64),
          agency     text NOT NULL CHECK (length(agency) BETWEEN 1 AND 32),
          wrapped    bytea NOT NULL CHECK (octet_length(wrapped) = 72),
          wrapped_by text NOT NULL CHECK (length(wrapped_by) = 32),
          PRIMARY KEY (case_id, agency)
        )
        """,
        // One function refuses every change a table never takes; its argument says why.
        """
        CREATE FUNCTION safeguard.refuse() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
        BEGIN
          RAISE EXCEPTION 'safeguard: %', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
        END
        $$
        """,
        """
        CREATE FUNCTION safeguard.extend_chain() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
        BEGIN
          IF NEW.seq IS DISTINCT FROM (SELECT COALESCE(MAX(seq) + 1, 0) FROM ONLY safeguard.events)
             OR NEW.prev_hash IS DISTINCT FROM COALESCE((SELECT entry_hash FROM ONLY safeguard.events WHERE seq = NEW.seq - 1), decode(repeat('00', 32), 'hex')) THEN
            RAISE EXCEPTION 'safeguard: an event must extend the chain at its head' USING ERRCODE = 'restrict_violation';
          END IF;
          RETURN NEW;
        END
        $$
        """,
        // A details record is written in the transaction that writes its event (the file: at
        // the head), so a record erased can never be put back beside an old event.
        """
        CREATE FUNCTION safeguard.details_with_event() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM ONLY safeguard.events e WHERE e.seq = NEW.seq
                         AND e.xmin::text = (pg_current_xact_id()::text::numeric % 4294967296)::text) THEN
            RAISE EXCEPTION 'safeguard: a details record is written with its event, in the same transaction' USING ERRCODE = 'restrict_violation';
          END IF;
          RETURN NEW;
        END
        $$
        """,
        """
        CREATE FUNCTION safeguard.destroyed(c text, review bigint) RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
          SELECT EXISTS (SELECT 1 FROM ONLY safeguard.events r WHERE r.seq = review AND r.type = 'governance.retention_review' AND r.case_id IS NULL
                         AND position(convert_to('"case_ref":' || to_json(c)::text, 'UTF8') IN r.envelope) > 0
                         AND position(convert_to('"decision":"destroyed"', 'UTF8') IN r.envelope) > 0)
        $$
        """,
        """
        CREATE FUNCTION safeguard.details_deleted_when_destroyed() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM ONLY safeguard.events e, ONLY safeguard.events r
                         WHERE e.seq = OLD.seq AND e.case_id IS NOT NULL AND r.type = 'governance.retention_review' AND r.seq > e.seq
                         AND safeguard.destroyed(e.case_id, r.seq)) THEN
            RAISE EXCEPTION 'safeguard: details are deleted only when a later retention review destroyed their case' USING ERRCODE = 'restrict_violation';
          END IF;
          RETURN OLD;
        END
        $$
        """,
        """
        CREATE FUNCTION safeguard.checkpoints_grow() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
        BEGIN
          IF NEW.size <= (SELECT COALESCE(MAX(size), -1) FROM ONLY safeguard.checkpoints) THEN
            RAISE EXCEPTION 'safeguard: a checkpoint must be larger than the last one' USING ERRCODE = 'restrict_violation';
          END IF;
          RETURN NEW;
        END
        $$
        """,
        // The only deletions, for a role that may not DELETE: a case's erasure, as the
        // retention review at `review` decided (docs/FORMAT.md §3.6) ...
        """
        CREATE FUNCTION safeguard.erase_case(c text, review bigint) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
        BEGIN
          IF NOT safeguard.destroyed(c, review) THEN
            RAISE EXCEPTION 'safeguard: no retention review at seq % destroyed case %', review, c USING ERRCODE = 'restrict_violation';
          END IF;
          DELETE FROM safeguard.case_keys WHERE case_id = c;
          DELETE FROM safeguard.details WHERE seq IN (SELECT seq FROM ONLY safeguard.events WHERE case_id = c AND seq < review);
        END
        $$
        """,
        // ... and the copies of a case's key made before any of its records was sealed, which
        // commit to nothing and are replaced when its first sealed record is written.
        """
        CREATE FUNCTION safeguard.replace_case_keys(c text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM ONLY safeguard.events e JOIN ONLY safeguard.details d ON d.seq = e.seq
                     WHERE e.case_id = c AND substring(d.body FROM 1 FOR 1) = '\\x01'::bytea) THEN
            RAISE EXCEPTION 'safeguard: case %''s key already seals a record: its copies are never replaced', c USING ERRCODE = 'restrict_violation';
          END IF;
          DELETE FROM safeguard.case_keys WHERE case_id = c;
        END
        $$
        """,
    ] + triggers.map(\.sql) + [
        "REVOKE ALL ON FUNCTION safeguard.erase_case(text, bigint), safeguard.replace_case_keys(text) FROM PUBLIC",
    ]

    /// The triggers, by table: every change a table never takes is refused, TRUNCATE included.
    static let triggers: [(name: String, sql: String)] = {
        func refuse(_ name: String, _ table: String, _ when: String, _ why: String, row: Bool = true) -> (String, String) {
            (name, "CREATE TRIGGER \(name) BEFORE \(when) ON safeguard.\(table) FOR EACH \(row ? "ROW" : "STATEMENT") EXECUTE FUNCTION safeguard.refuse('\(why)')")
        }
        return [
            refuse("ledger_format_fixed", "ledger_format", "UPDATE OR DELETE", "the ledger format is fixed"),
            refuse("ledger_format_not_truncated", "ledger_format", "TRUNCATE", "the ledger format is fixed", row: false),
            refuse("events_append_only", "events", "UPDATE OR DELETE", "events are append-only; record a correction event instead"),
            refuse("events_not_truncated", "events", "TRUNCATE", "events are append-only; nothing is ever deleted", row: false),
            ("events_extend_chain", "CREATE TRIGGER events_extend_chain BEFORE INSERT ON safeguard.events FOR EACH ROW EXECUTE FUNCTION safeguard.extend_chain()"),
            refuse("tree_nodes_append_only", "tree_nodes", "UPDATE OR DELETE", "the Merkle tree is append-only"),
            refuse("tree_nodes_not_truncated", "tree_nodes", "TRUNCATE", "the Merkle tree is append-only", row: false),
            refuse("checkpoints_append_only", "checkpoints", "UPDATE OR DELETE", "checkpoints are append-only"),
            refuse("checkpoints_not_truncated", "checkpoints", "TRUNCATE", "checkpoints are append-only", row: false),
            ("checkpoints_grow", "CREATE TRIGGER checkpoints_grow BEFORE INSERT ON safeguard.checkpoints FOR EACH ROW EXECUTE FUNCTION safeguard.checkpoints_grow()"),
            refuse("details_append_only", "details", "UPDATE", "details are append-only; record a correction event instead"),
            refuse("details_not_truncated", "details", "TRUNCATE", "details are deleted only when a retention review destroyed their case", row: false),
            ("details_with_event", "CREATE TRIGGER details_with_event BEFORE INSERT ON safeguard.details FOR EACH ROW EXECUTE FUNCTION safeguard.details_with_event()"),
            ("details_deleted_when_destroyed",
             "CREATE TRIGGER details_deleted_when_destroyed BEFORE DELETE ON safeguard.details FOR EACH ROW EXECUTE FUNCTION safeguard.details_deleted_when_destroyed()"),
            refuse("case_keys_never_changed", "case_keys", "UPDATE", "a wrapped case key is never changed"),
            refuse("case_keys_not_truncated", "case_keys", "TRUNCATE", "wrapped case keys are removed only by an erasure", row: false),
        ]
    }()

    /// The tables, in the order rows are written.
    public static let tables = ["ledger_format", "events", "tree_nodes", "checkpoints", "details", "case_keys"]

    /// What the service's role is granted (`safeguard migrate --service-role`): reading and
    /// adding rows, and the two erasure functions. Never UPDATE, DELETE or TRUNCATE.
    public static func grants(to role: String) -> [String] {
        let r = quoteIdentifier(role)
        return [
            "GRANT USAGE ON SCHEMA safeguard TO \(r)",
            "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA safeguard TO \(r)",
            "GRANT EXECUTE ON FUNCTION safeguard.erase_case(text, bigint), safeguard.replace_case_keys(text) TO \(r)",
        ]
    }

    /// What an auditor's role is granted (on a standby, say): SELECT on the signed log, its
    /// tree and checkpoints, never on the details records or the wrapped keys: an auditor needs
    /// hashes and coded facts, not a child's details (docs/PRIVACY.md). Its copies are
    /// verified with the details withheld, as a facts-only export is.
    public static func readGrants(to role: String) -> [String] {
        let r = quoteIdentifier(role)
        return ["GRANT USAGE ON SCHEMA safeguard TO \(r)",
                "GRANT SELECT ON safeguard.ledger_format, safeguard.events, safeguard.tree_nodes, safeguard.checkpoints TO \(r)"]
    }

    public static func quoteIdentifier(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// Every object of the schema and of its tables, one line each (kind, name, definition as
    /// PostgreSQL gives it back), read from the catalogue: relations with their persistence and
    /// row security, columns with type, nullability and default, constraints (and whether they
    /// were validated), indexes (and whether they are valid), triggers (and whether enabled),
    /// rules, row-security policies, functions (the digest of their definition), types,
    /// inheritance in or out of the schema, and every other kind of object a schema can hold.
    /// Nothing outside the catalogue's own tables is read.
    static let catalogueQuery = """
        WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'safeguard'),
        rel AS (SELECT c.* FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns))
        SELECT kind, name, definition FROM (
          SELECT 'relation' AS kind, c.relname::text AS name,
                 'kind=' || c.relkind::text || ' persistence=' || c.relpersistence::text || ' row_security=' || c.relrowsecurity::text || '/' || c.relforcerowsecurity::text
                 || ' options=' || COALESCE(array_to_string(c.reloptions, ','), '') || ' access=' || COALESCE((SELECT amname FROM pg_catalog.pg_am WHERE oid = c.relam), '') AS definition
          FROM rel c
          UNION ALL
          SELECT 'column', c.relname || '.' || a.attname,
                 pg_catalog.format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                 || COALESCE(' DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
                 || ' collation=' || COALESCE((SELECT collname FROM pg_catalog.pg_collation WHERE oid = a.attcollation), '') || ' position=' || a.attnum::text
          FROM pg_catalog.pg_attribute a JOIN rel c ON c.oid = a.attrelid LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind NOT IN ('i', 'I', 'S')
          UNION ALL
          SELECT 'constraint', c.relname || '.' || k.conname, pg_catalog.pg_get_constraintdef(k.oid) || ' validated=' || k.convalidated::text || ' deferrable=' || k.condeferrable::text
          FROM pg_catalog.pg_constraint k JOIN rel c ON c.oid = k.conrelid
          UNION ALL
          SELECT 'constraint', k.conname, pg_catalog.pg_get_constraintdef(k.oid)
          FROM pg_catalog.pg_constraint k WHERE k.connamespace = (SELECT oid FROM ns) AND k.conrelid = 0
          UNION ALL
          SELECT 'index', i.relname, pg_catalog.pg_get_indexdef(i.oid) || ' valid=' || x.indisvalid::text || ' ready=' || x.indisready::text || ' live=' || x.indislive::text
          FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid JOIN rel t ON t.oid = x.indrelid
          UNION ALL
          SELECT 'trigger', c.relname || '.' || t.tgname, pg_catalog.pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
          FROM pg_catalog.pg_trigger t JOIN rel c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
          UNION ALL
          SELECT 'rule', c.relname || '.' || r.rulename, pg_catalog.pg_get_ruledef(r.oid) || ' enabled=' || r.ev_enabled::text
          FROM pg_catalog.pg_rewrite r JOIN rel c ON c.oid = r.ev_class
          UNION ALL
          SELECT 'policy', c.relname || '.' || p.polname, p.polcmd::text FROM pg_catalog.pg_policy p JOIN rel c ON c.oid = p.polrelid
          UNION ALL
          SELECT 'function', p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
                 'owner_rights=' || p.prosecdef::text || ' ' || md5(pg_catalog.pg_get_functiondef(p.oid))
          FROM pg_catalog.pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
          UNION ALL
          SELECT 'type', t.typname, 'kind=' || t.typtype::text FROM pg_catalog.pg_type t WHERE t.typnamespace = (SELECT oid FROM ns)
          UNION ALL
          SELECT 'inheritance', ch.relname || ' < ' || pa.relname, ''
          FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_class ch ON ch.oid = h.inhrelid JOIN pg_catalog.pg_class pa ON pa.oid = h.inhparent
          WHERE ch.relnamespace = (SELECT oid FROM ns) OR pa.relnamespace = (SELECT oid FROM ns)
          UNION ALL
          SELECT 'operator', o.oprname, '' FROM pg_catalog.pg_operator o WHERE o.oprnamespace = (SELECT oid FROM ns)
          UNION ALL
          SELECT 'collation', l.collname, '' FROM pg_catalog.pg_collation l WHERE l.collnamespace = (SELECT oid FROM ns)
          UNION ALL
          SELECT 'statistics', s.stxname, '' FROM pg_catalog.pg_statistic_ext s WHERE s.stxnamespace = (SELECT oid FROM ns)
          UNION ALL
          SELECT 'text search', n.cfgname, '' FROM pg_catalog.pg_ts_config n WHERE n.cfgnamespace = (SELECT oid FROM ns)
          UNION ALL
          SELECT 'conversion', v.conname, '' FROM pg_catalog.pg_conversion v WHERE v.connamespace = (SELECT oid FROM ns)
        ) o ORDER BY kind, name, definition
        """

    /// One object of the schema, as `catalogueQuery` reads it.
    public struct Object: Hashable, Sendable, CustomStringConvertible {
        public let kind: String
        public let name: String
        public let definition: String
        public init(kind: String, name: String, definition: String) { self.kind = kind; self.name = name; self.definition = definition }
        public var description: String { "\(kind)\t\(name)\t\(definition)" }
    }

    /// What the catalogue holds for an unaltered schema on PostgreSQL 15, nothing more and
    /// nothing less (read from a schema `statements` made, and checked against a new one by
    /// the test suite: `PostgresStoreTests.testTheSchemaIsExactlyWhatTheStatementsMake`).
    public static var expected: Set<Object> {
        Set(expectedText.split(separator: "\n").compactMap { line -> Object? in
            let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            return Object(kind: String(parts[0]), name: String(parts[1]), definition: String(parts[2]))
        })
    }

    /// How a store's schema differs from the format's: objects that are not the format's, and
    /// the format's objects that are missing or differ. Empty for an unaltered schema.
    public struct Difference: Equatable, Sendable, CustomStringConvertible {
        public enum Kind: Equatable, Sendable { case unknown, altered, missing }
        public let kind: Kind
        public let object: Object
        public var description: String {
            switch kind {
            case .unknown: return "the PostgreSQL schema 'safeguard' holds a \(object.kind) '\(object.name)' that is not part of the ledger format"
            case .altered: return "the PostgreSQL schema 'safeguard''s \(object.kind) '\(object.name)' is not defined as the ledger format defines it"
            case .missing: return "the PostgreSQL schema 'safeguard' has no \(object.kind) '\(object.name)', which the ledger format defines"
            }
        }
    }

    public static func differences(_ found: [Object]) -> [Difference] {
        let expected = Self.expected
        let byName = Dictionary(expected.map { ("\($0.kind) \($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
        var out: [Difference] = []
        var seen = Set<String>()
        // The most telling first: a planted relation before its columns, a rule before a type.
        let order = ["relation", "inheritance", "rule", "policy", "trigger", "function", "index", "constraint", "column", "type"]
        let rank = { (k: String) in order.firstIndex(of: k) ?? order.count }
        for o in found.sorted(by: { (rank($0.kind), $0.kind, $0.name) < (rank($1.kind), $1.kind, $1.name) }) {
            let key = "\(o.kind) \(o.name)"
            seen.insert(key)
            guard let e = byName[key] else { out.append(Difference(kind: .unknown, object: o)); continue }
            if e != o { out.append(Difference(kind: .altered, object: o)) }
        }
        for e in expected.sorted(by: { ($0.kind, $0.name) < ($1.kind, $1.name) }) where !seen.contains("\(e.kind) \(e.name)") {
            out.append(Difference(kind: .missing, object: e))
        }
        return out
    }

    /// Generated from PostgreSQL 15 by `PostgresStoreTests` (set SAFEGUARD_PRINT_PG_SCHEMA=1).
    static let expectedText = """
        column\tcase_keys.agency\ttext NOT NULL identity= generated= collation=default position=2
        column\tcase_keys.case_id\ttext NOT NULL identity= generated= collation=default position=1
        column\tcase_keys.wrapped\tbytea NOT NULL identity= generated= collation= position=3
        column\tcase_keys.wrapped_by\ttext NOT NULL identity= generated= collation=default position=4
        column\tcheckpoints.note\tbytea NOT NULL identity= generated= collation= position=3
        column\tcheckpoints.root\tbytea NOT NULL identity= generated= collation= position=2
        column\tcheckpoints.signed_at\ttext NOT NULL identity= generated= collation=default position=4
        column\tcheckpoints.size\tbigint NOT NULL identity= generated= collation= position=1
        column\tdetails.body\tbytea NOT NULL identity= generated= collation= position=3
        column\tdetails.salt\tbytea NOT NULL identity= generated= collation= position=2
        column\tdetails.seq\tbigint NOT NULL identity= generated= collation= position=1
        column\tevents.agency\ttext NOT NULL identity= generated= collation=default position=5
        column\tevents.case_id\ttext identity= generated= collation=default position=4
        column\tevents.entry_hash\tbytea NOT NULL identity= generated= collation= position=12
        column\tevents.envelope\tbytea NOT NULL identity= generated= collation= position=10
        column\tevents.event_id\ttext NOT NULL identity= generated= collation=default position=2
        column\tevents.key_id\ttext NOT NULL identity= generated= collation=default position=6
        column\tevents.occurred_at\ttext NOT NULL identity= generated= collation=default position=7
        column\tevents.prev_hash\tbytea NOT NULL identity= generated= collation= position=9
        column\tevents.recorded_at\ttext NOT NULL identity= generated= collation=default position=8
        column\tevents.seq\tbigint NOT NULL identity= generated= collation= position=1
        column\tevents.signature\tbytea NOT NULL identity= generated= collation= position=11
        column\tevents.type\ttext NOT NULL identity= generated= collation=default position=3
        column\tledger_format.application_id\tinteger NOT NULL identity= generated= collation= position=2
        column\tledger_format.format_version\tinteger NOT NULL identity= generated= collation= position=3
        column\tledger_format.one_row\tboolean NOT NULL DEFAULT true identity= generated= collation= position=1
        column\ttree_nodes.hash\tbytea NOT NULL identity= generated= collation= position=3
        column\ttree_nodes.idx\tbigint NOT NULL identity= generated= collation= position=2
        column\ttree_nodes.level\tinteger NOT NULL identity= generated= collation= position=1
        constraint\tcase_keys.case_keys_agency_check\tCHECK (((length(agency) >= 1) AND (length(agency) <= 32))) validated=true deferrable=false
        constraint\tcase_keys.case_keys_case_id_check\tCHECK (((length(case_id) >= 1) AND (length(case_id) <= 64))) validated=true deferrable=false
        constraint\tcase_keys.case_keys_pkey\tPRIMARY KEY (case_id, agency) validated=true deferrable=false
        constraint\tcase_keys.case_keys_wrapped_by_check\tCHECK ((length(wrapped_by) = 32)) validated=true deferrable=false
        constraint\tcase_keys.case_keys_wrapped_check\tCHECK ((octet_length(wrapped) = 72)) validated=true deferrable=false
        constraint\tcheckpoints.checkpoints_pkey\tPRIMARY KEY (size) validated=true deferrable=false
        constraint\tcheckpoints.checkpoints_root_check\tCHECK ((octet_length(root) = 32)) validated=true deferrable=false
        constraint\tcheckpoints.checkpoints_signed_at_check\tCHECK ((length(signed_at) = 20)) validated=true deferrable=false
        constraint\tcheckpoints.checkpoints_size_check\tCHECK ((size >= 0)) validated=true deferrable=false
        constraint\tdetails.details_body_check\tCHECK ((octet_length(body) <= 1048576)) validated=true deferrable=false
        constraint\tdetails.details_pkey\tPRIMARY KEY (seq) validated=true deferrable=false
        constraint\tdetails.details_salt_check\tCHECK ((octet_length(salt) = 32)) validated=true deferrable=false
        constraint\tdetails.details_seq_check\tCHECK ((seq >= 0)) validated=true deferrable=false
        constraint\tevents.events_entry_hash_check\tCHECK ((octet_length(entry_hash) = 32)) validated=true deferrable=false
        constraint\tevents.events_envelope_check\tCHECK ((octet_length(envelope) <= 1048576)) validated=true deferrable=false
        constraint\tevents.events_event_id_check\tCHECK ((length(event_id) = 36)) validated=true deferrable=false
        constraint\tevents.events_event_id_key\tUNIQUE (event_id) validated=true deferrable=false
        constraint\tevents.events_key_id_check\tCHECK ((length(key_id) = 32)) validated=true deferrable=false
        constraint\tevents.events_occurred_at_check\tCHECK ((length(occurred_at) = 20)) validated=true deferrable=false
        constraint\tevents.events_pkey\tPRIMARY KEY (seq) validated=true deferrable=false
        constraint\tevents.events_prev_hash_check\tCHECK ((octet_length(prev_hash) = 32)) validated=true deferrable=false
        constraint\tevents.events_recorded_at_check\tCHECK ((length(recorded_at) = 20)) validated=true deferrable=false
        constraint\tevents.events_seq_check\tCHECK ((seq >= 0)) validated=true deferrable=false
        constraint\tevents.events_signature_check\tCHECK ((octet_length(signature) = 64)) validated=true deferrable=false
        constraint\tledger_format.ledger_format_application_id_check\tCHECK ((application_id = 1397181511)) validated=true deferrable=false
        constraint\tledger_format.ledger_format_format_version_check\tCHECK ((format_version = 5)) validated=true deferrable=false
        constraint\tledger_format.ledger_format_one_row_check\tCHECK (one_row) validated=true deferrable=false
        constraint\tledger_format.ledger_format_pkey\tPRIMARY KEY (one_row) validated=true deferrable=false
        constraint\ttree_nodes.tree_nodes_hash_check\tCHECK ((octet_length(hash) = 32)) validated=true deferrable=false
        constraint\ttree_nodes.tree_nodes_idx_check\tCHECK ((idx >= 0)) validated=true deferrable=false
        constraint\ttree_nodes.tree_nodes_level_check\tCHECK ((level >= 1)) validated=true deferrable=false
        constraint\ttree_nodes.tree_nodes_pkey\tPRIMARY KEY (level, idx) validated=true deferrable=false
        function\tcheckpoints_grow()\towner_rights=false e9d00cdd4be2ce83883f28cfa491e2e1
        function\tdestroyed(c text, review bigint)\towner_rights=false 52c37e3a141e28202ebf824c002d619e
        function\tdetails_deleted_when_destroyed()\towner_rights=false 47f200a27f7b33dc007eb27f557c61c6
        function\tdetails_with_event()\towner_rights=false b80edbf612e3037269cb8b91a226eb1e
        function\terase_case(c text, review bigint)\towner_rights=true 55753470b39a3a2b07149d05f6193836
        function\textend_chain()\towner_rights=false 1958f0cabd074c56fa16e6e9bee5dfc7
        function\trefuse()\towner_rights=false 7d7029bc3ce1017eeb5b53fff71bc65a
        function\treplace_case_keys(c text)\towner_rights=true 06e9346a1dcf5537119434c57f304d8c
        index\tcase_keys_pkey\tCREATE UNIQUE INDEX case_keys_pkey ON safeguard.case_keys USING btree (case_id, agency) valid=true ready=true live=true
        index\tcheckpoints_pkey\tCREATE UNIQUE INDEX checkpoints_pkey ON safeguard.checkpoints USING btree (size) valid=true ready=true live=true
        index\tdetails_pkey\tCREATE UNIQUE INDEX details_pkey ON safeguard.details USING btree (seq) valid=true ready=true live=true
        index\tevents_by_case\tCREATE INDEX events_by_case ON safeguard.events USING btree (case_id, seq) WHERE (case_id IS NOT NULL) valid=true ready=true live=true
        index\tevents_by_type\tCREATE INDEX events_by_type ON safeguard.events USING btree (type, seq) valid=true ready=true live=true
        index\tevents_event_id_key\tCREATE UNIQUE INDEX events_event_id_key ON safeguard.events USING btree (event_id) valid=true ready=true live=true
        index\tevents_pkey\tCREATE UNIQUE INDEX events_pkey ON safeguard.events USING btree (seq) valid=true ready=true live=true
        index\tledger_format_pkey\tCREATE UNIQUE INDEX ledger_format_pkey ON safeguard.ledger_format USING btree (one_row) valid=true ready=true live=true
        index\ttree_nodes_pkey\tCREATE UNIQUE INDEX tree_nodes_pkey ON safeguard.tree_nodes USING btree (level, idx) valid=true ready=true live=true
        relation\tcase_keys\tkind=r persistence=p row_security=false/false options= access=heap
        relation\tcase_keys_pkey\tkind=i persistence=p row_security=false/false options= access=btree
        relation\tcheckpoints\tkind=r persistence=p row_security=false/false options= access=heap
        relation\tcheckpoints_pkey\tkind=i persistence=p row_security=false/false options= access=btree
        relation\tdetails\tkind=r persistence=p row_security=false/false options= access=heap
        relation\tdetails_pkey\tkind=i persistence=p row_security=false/false options= access=btree
        relation\tevents\tkind=r persistence=p row_security=false/false options= access=heap
        relation\tevents_by_case\tkind=i persistence=p row_security=false/false options= access=btree
        relation\tevents_by_type\tkind=i persistence=p row_security=false/false options= access=btree
        relation\tevents_event_id_key\tkind=i persistence=p row_security=false/false options= access=btree
        relation\tevents_pkey\tkind=i persistence=p row_security=false/false options= access=btree
        relation\tledger_format\tkind=r persistence=p row_security=false/false options= access=heap
        relation\tledger_format_pkey\tkind=i persistence=p row_security=false/false options= access=btree
        relation\ttree_nodes\tkind=r persistence=p row_security=false/false options= access=heap
        relation\ttree_nodes_pkey\tkind=i persistence=p row_security=false/false options= access=btree
        trigger\tcase_keys.case_keys_never_changed\tCREATE TRIGGER case_keys_never_changed BEFORE UPDATE ON safeguard.case_keys FOR EACH ROW EXECUTE FUNCTION safeguard.refuse('a wrapped case key is never changed') enabled=O
        trigger\tcase_keys.case_keys_not_truncated\tCREATE TRIGGER case_keys_not_truncated BEFORE TRUNCATE ON safeguard.case_keys FOR EACH STATEMENT EXECUTE FUNCTION safeguard.refuse('wrapped case keys are removed only by an erasure') enabled=O
        trigger\tcheckpoints.checkpoints_append_only\tCREATE TRIGGER checkpoints_append_only BEFORE DELETE OR UPDATE ON safeguard.checkpoints FOR EACH ROW EXECUTE FUNCTION safeguard.refuse('checkpoints are append-only') enabled=O
        trigger\tcheckpoints.checkpoints_grow\tCREATE TRIGGER checkpoints_grow BEFORE INSERT ON safeguard.checkpoints FOR EACH ROW EXECUTE FUNCTION safeguard.checkpoints_grow() enabled=O
        trigger\tcheckpoints.checkpoints_not_truncated\tCREATE TRIGGER checkpoints_not_truncated BEFORE TRUNCATE ON safeguard.checkpoints FOR EACH STATEMENT EXECUTE FUNCTION safeguard.refuse('checkpoints are append-only') enabled=O
        trigger\tdetails.details_append_only\tCREATE TRIGGER details_append_only BEFORE UPDATE ON safeguard.details FOR EACH ROW EXECUTE FUNCTION safeguard.refuse('details are append-only; record a correction event instead') enabled=O
        trigger\tdetails.details_deleted_when_destroyed\tCREATE TRIGGER details_deleted_when_destroyed BEFORE DELETE ON safeguard.details FOR EACH ROW EXECUTE FUNCTION safeguard.details_deleted_when_destroyed() enabled=O
        trigger\tdetails.details_not_truncated\tCREATE TRIGGER details_not_truncated BEFORE TRUNCATE ON safeguard.details FOR EACH STATEMENT EXECUTE FUNCTION safeguard.refuse('details are deleted only when a retention review destroyed their case') enabled=O
        trigger\tdetails.details_with_event\tCREATE TRIGGER details_with_event BEFORE INSERT ON safeguard.details FOR EACH ROW EXECUTE FUNCTION safeguard.details_with_event() enabled=O
        trigger\tevents.events_append_only\tCREATE TRIGGER events_append_only BEFORE DELETE OR UPDATE ON safeguard.events FOR EACH ROW EXECUTE FUNCTION safeguard.refuse('events are append-only; record a correction event instead') enabled=O
        trigger\tevents.events_extend_chain\tCREATE TRIGGER events_extend_chain BEFORE INSERT ON safeguard.events FOR EACH ROW EXECUTE FUNCTION safeguard.extend_chain() enabled=O
        trigger\tevents.events_not_truncated\tCREATE TRIGGER events_not_truncated BEFORE TRUNCATE ON safeguard.events FOR EACH STATEMENT EXECUTE FUNCTION safeguard.refuse('events are append-only; nothing is ever deleted') enabled=O
        trigger\tledger_format.ledger_format_fixed\tCREATE TRIGGER ledger_format_fixed BEFORE DELETE OR UPDATE ON safeguard.ledger_format FOR EACH ROW EXECUTE FUNCTION safeguard.refuse('the ledger format is fixed') enabled=O
        trigger\tledger_format.ledger_format_not_truncated\tCREATE TRIGGER ledger_format_not_truncated BEFORE TRUNCATE ON safeguard.ledger_format FOR EACH STATEMENT EXECUTE FUNCTION safeguard.refuse('the ledger format is fixed') enabled=O
        trigger\ttree_nodes.tree_nodes_append_only\tCREATE TRIGGER tree_nodes_append_only BEFORE DELETE OR UPDATE ON safeguard.tree_nodes FOR EACH ROW EXECUTE FUNCTION safeguard.refuse('the Merkle tree is append-only') enabled=O
        trigger\ttree_nodes.tree_nodes_not_truncated\tCREATE TRIGGER tree_nodes_not_truncated BEFORE TRUNCATE ON safeguard.tree_nodes FOR EACH STATEMENT EXECUTE FUNCTION safeguard.refuse('the Merkle tree is append-only') enabled=O
        type\t_case_keys\tkind=b
        type\t_checkpoints\tkind=b
        type\t_details\tkind=b
        type\t_events\tkind=b
        type\t_ledger_format\tkind=b
        type\t_tree_nodes\tkind=b
        type\tcase_keys\tkind=c
        type\tcheckpoints\tkind=c
        type\tdetails\tkind=c
        type\tevents\tkind=c
        type\tledger_format\tkind=c
        type\ttree_nodes\tkind=c
        """
}
