import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import SafeguardCore
import SafeguardStore

/// Where a ledger held in PostgreSQL is: a `postgres://` (or `postgresql://`) URL, in libpq's
/// form: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-full]`,
/// or with `?host=/socket/folder` for a Unix socket. A password is best given in $PGPASSWORD,
/// which is used when the URL has none (a URL on a command line is visible to other users).
public struct PostgresURL: Sendable, CustomStringConvertible {
    public let user: String
    public let password: String?
    public let host: String
    public let port: Int
    public let database: String
    public let socketFolder: String?
    public let sslmode: String

    public static func isURL(_ s: String) -> Bool { s.hasPrefix("postgres://") || s.hasPrefix("postgresql://") }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isURL(text), let c = URLComponents(string: text) else {
            throw Invalid(description: "'\(Self.redacted(text))' is not a PostgreSQL URL: write postgres://USER@HOST:PORT/DATABASE (the password in $PGPASSWORD)")
        }
        let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, b in b })
        for name in query.keys where !["sslmode", "host", "port", "user", "password", "dbname"].contains(name) {
            throw Invalid(description: "the PostgreSQL URL's parameter '\(name)' is not one safeguard reads: use sslmode, host (a socket folder), port, user or dbname")
        }
        user = query["user"] ?? c.user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        password = query["password"] ?? c.password ?? environment["PGPASSWORD"]
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        database = query["dbname"] ?? (path.isEmpty ? (environment["PGDATABASE"] ?? user) : path)
        if let h = query["host"], h.hasPrefix("/") { socketFolder = h } else { socketFolder = nil }
        host = c.host.flatMap { $0.isEmpty ? nil : $0 } ?? (query["host"].flatMap { $0.hasPrefix("/") ? nil : $0 }) ?? "localhost"
        guard let p = query["port"].map({ Int($0) }) ?? c.port ?? 5432, (1...65535).contains(p) else {
            throw Invalid(description: "the PostgreSQL URL's port is not a number from 1 to 65535")
        }
        port = p
        sslmode = query["sslmode"] ?? "prefer"
        guard ["disable", "prefer", "require", "verify-full"].contains(sslmode) else {
            throw Invalid(description: "sslmode '\(sslmode)' is not one safeguard supports: use disable, prefer, require or verify-full")
        }
    }

    /// The URL without its password.
    public var description: String {
        "postgres://\(user)@\(socketFolder == nil ? "\(host):\(port)" : "[\(socketFolder!)]")/\(database)"
    }

    static func redacted(_ text: String) -> String {
        guard let c = URLComponents(string: text), c.password != nil else { return text }
        var r = c
        r.password = "…"
        return r.string ?? "(the URL)"
    }

    func configuration() throws -> PostgresConnection.Configuration {
        if let socketFolder {
            return PostgresConnection.Configuration(unixSocketPath: socketFolder + "/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        let tls: PostgresConnection.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        default:
            var t = TLSConfiguration.makeClientConfiguration()
            // libpq's sslmode: prefer and require encrypt without checking the server's
            // certificate; verify-full checks it and its name.
            if sslmode != "verify-full" { t.certificateVerification = .none }
            let context = try NIOSSLContext(configuration: t)
            tls = sslmode == "prefer" ? .prefer(context) : .require(context)
        }
        var config = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        config.options.connectTimeout = .seconds(10)
        return config
    }
}

/// A problem with a PostgreSQL store, said in one line with what to do.
public struct PostgresStoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// PostgreSQL's own message (its error code beside it) for an error from postgres-nio,
    /// whose own description hides it.
    static func from(_ error: any Error, url: PostgresURL, doing: String) -> any Error {
        if let e = error as? PostgresStoreError { return e }
        if error is LedgerError || error is VerificationFailure { return error }
        if let p = error as? PostgresTransactionError {
            if let inner = p.closureError { return from(inner, url: url, doing: doing) }
            if let inner = p.commitError { return from(inner, url: url, doing: doing) }
            if let inner = p.beginError { return from(inner, url: url, doing: doing) }
        }
        if let p = error as? PSQLError {
            if let info = p.serverInfo, let message = info[.message] {
                let code = info[.sqlState].map { " (\($0))" } ?? ""
                var advice = ""
                switch info[.sqlState] ?? "" {
                case "28P01", "28000": advice = ": check the user and password ($PGPASSWORD)"
                case "3D000": advice = ": create the database first (createdb), or check the URL"
                case "42501": advice = ": the role lacks the privilege (the service's role may only read and add rows)"
                case "25006": advice = ": the server is read-only (a standby): write to the primary"
                default: break
                }
                return PostgresStoreError("PostgreSQL at \(url) refused \(doing): \(message)\(code)\(advice)")
            }
            switch p.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown:
                return PostgresStoreError("cannot reach PostgreSQL at \(url) (\(doing)): check the URL, and that the server is running and accepts connections")
            default:
                return PostgresStoreError("PostgreSQL at \(url) failed while \(doing) (\(p.code)): check the server's log")
            }
        }
        if let e = error as? NIOConnectionError {
            return PostgresStoreError("cannot connect to PostgreSQL at \(url): \(e.connectionErrors.first.map { "\($0.error)" } ?? "refused"): check the host and port, and that the server is running")
        }
        if let e = error as? IOError {
            return PostgresStoreError("cannot connect to PostgreSQL at \(url) (\(e.description)): check the host and port, and that the server is running")
        }
        return PostgresStoreError("PostgreSQL at \(url) failed while \(doing): \(error)")
    }
}

/// Runs `body` to completion from synchronous code (the command line's commands are).
public func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    try blocking(timeout: nil, body)!
}

/// `blocking`, giving up after `timeout` seconds: nil then (the work is cancelled and left).
public func blocking<T: Sendable>(timeout: Double?, _ body: @escaping @Sendable () async throws -> T) throws -> T? {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    let task = Task.detached {
        do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
        done.signal()
    }
    if let timeout {
        guard done.wait(timeout: .now() + timeout) == .success else {
            task.cancel()
            return nil
        }
    } else {
        done.wait()
    }
    return try box.get()!.get()
}

final class ResultBox<T>: @unchecked Sendable {
    private var result: Result<T, any Error>?
    private let lock = NSLock()
    init() {}
    func set(_ r: Result<T, any Error>) { lock.lock(); result = r; lock.unlock() }
    func get() -> Result<T, any Error>? { lock.lock(); defer { lock.unlock() }; return result }
}

/// A ledger held in PostgreSQL (docs/SCALE.md): one connection, each operation one transaction.
public final class PostgresLedger: @unchecked Sendable {
    public let url: PostgresURL
    let connection: PostgresConnection
    let logger: Logger

    init(url: PostgresURL, connection: PostgresConnection, logger: Logger) {
        self.url = url; self.connection = connection; self.logger = logger
    }

    /// Connects, with every name resolved in `pg_catalog` alone (the ledger's objects are always
    /// named with their schema), so that nothing a schema on the search path holds is called.
    public static func connect(_ url: PostgresURL) async throws -> PostgresLedger {
        var logger = Logger(label: "safeguard.postgres")
        logger.logLevel = .critical
        do {
            let connection = try await PostgresConnection.connect(configuration: try url.configuration(), id: 1, logger: logger)
            let ledger = PostgresLedger(url: url, connection: connection, logger: logger)
            try await ledger.run("SET search_path = pg_catalog")
            return ledger
        } catch { throw PostgresStoreError.from(error, url: url, doing: "the connection") }
    }

    public static func connect(_ text: String) async throws -> PostgresLedger { try await connect(try PostgresURL(text)) }

    public func close() async { try? await connection.close() }

    func run(_ sql: String) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    func rows(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await connection.query(query, logger: logger)
    }

    /// Runs `body` in one transaction: REPEATABLE READ READ ONLY for a reader (one snapshot, which
    /// a hot standby allows), SERIALIZABLE for a writer (two writers at the head cannot both
    /// commit, whatever else the rules and the primary key already refuse; no lock is taken
    /// that a role which may only read could hold to stop the writers).
    func transaction<T>(readOnly: Bool, doing: String, _ body: () async throws -> T) async throws -> T {
        do {
            try await run(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN ISOLATION LEVEL SERIALIZABLE")
            let value = try await body()
            try await run("COMMIT")
            return value
        } catch {
            try? await run("ROLLBACK")
            throw PostgresStoreError.from(error, url: url, doing: doing)
        }
    }


    // MARK: - The schema

    /// Whether the database holds a schema named `safeguard`.
    func schemaExists() async throws -> Bool {
        for try await (n) in try await rows("SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'safeguard'").decode(Int64.self) { return n > 0 }
        return false
    }

    /// The schema's objects, as `PostgresSchema.catalogueQuery` reads them.
    public func objects() async throws -> [PostgresSchema.Object] {
        var out: [PostgresSchema.Object] = []
        for try await (kind, name, definition) in try await rows(PostgresQuery(unsafeSQL: PostgresSchema.catalogueQuery)).decode((String, String, String?).self) {
            out.append(PostgresSchema.Object(kind: kind, name: name, definition: definition ?? ""))
        }
        return out
    }

    /// Refuses a store whose schema is not exactly the format's, as verification refuses a file
    /// (`unknown_schema_object`, `altered_table`), and one that is not a ledger at all.
    func checkSchema() async throws {
        guard try await schemaExists() else {
            throw PostgresStoreError("\(url) holds no ledger (no schema 'safeguard'): move one there with 'safeguard migrate --from FILE --to \(url)'")
        }
        for try await (encoding) in try await rows("SELECT pg_catalog.current_setting('server_encoding')").decode(String.self) where encoding != "UTF8" {
            throw PostgresStoreError("the database at \(url) is in encoding \(encoding), not UTF8: a ledger's text columns are UTF-8; create the database with ENCODING 'UTF8'")
        }
        guard let first = PostgresSchema.differences(try await objects()).first else {
            var format: (Int32, Int32)?
            for try await row in try await rows("SELECT application_id, format_version FROM ONLY safeguard.ledger_format").decode((Int32, Int32).self) { format = row }
            guard format?.0 == PostgresSchema.applicationID, format?.1 == Int32(PostgresSchema.formatVersion) else {
                throw VerificationFailure(seq: 0, eventID: nil, reason: .alteredTable(VerificationFailure.postgres + "table 'ledger_format'"))
            }
            return
        }
        let what = VerificationFailure.postgres + "\(first.object.kind) '\(first.object.name)'"
        throw VerificationFailure(seq: 0, eventID: nil, reason: first.kind == .unknown ? .unknownSchemaObject(what) : .alteredTable(what))
    }

    /// Makes the schema (which must not exist yet), and grants the service's role what it may do.
    func install(serviceRole: String?, readers: [String]) async throws {
        guard try await !schemaExists() else {
            throw PostgresStoreError("\(url) already holds a schema 'safeguard': move a ledger only into a database that holds none (drop it first if it is a failed copy)")
        }
        for s in PostgresSchema.statements { try await run(s) }
        if let serviceRole { for s in PostgresSchema.grants(to: serviceRole) { try await run(s) } }
        for r in readers { for s in PostgresSchema.readGrants(to: r) { try await run(s) } }
    }

    /// What the connected role may do to the ledger's tables beyond reading and adding rows: the
    /// privileges the service's role must not hold (UPDATE, DELETE, TRUNCATE, owning a table or
    /// being a superuser would let it change what was recorded, or switch the rules off).
    public func excessPrivileges() async throws -> [String] {
        var out: [String] = []
        let sql = """
            SELECT r.rolsuper, r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
            """
        for try await (superuser, bypass) in try await rows(PostgresQuery(unsafeSQL: sql)).decode((Bool, Bool).self) {
            if superuser { out.append("it is a superuser") }
            if bypass { out.append("it bypasses row security") }
        }
        // Roles that can gain more: members of another role (whose rights SET ROLE gives, inherited
        // or not), roles that may make roles (and so grant themselves pg_write_all_data).
        let more = """
            SELECT r.rolcreaterole, r.rolreplication,
                   COALESCE((SELECT string_agg(g.rolname, ', ' ORDER BY g.rolname) FROM pg_catalog.pg_auth_members m
                             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), ''),
                   pg_catalog.has_schema_privilege('safeguard', 'CREATE')
            FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
            """
        for try await (createRole, replication, memberOf, create) in try await rows(PostgresQuery(unsafeSQL: more)).decode((Bool, Bool, String, Bool).self) {
            if createRole { out.append("it may create roles") }
            if replication { out.append("it may replicate") }
            if !memberOf.isEmpty { out.append("it is a member of \(memberOf)") }
            if create { out.append("CREATE on the schema") }
        }
        for table in PostgresSchema.tables {
            let q = """
                SELECT pg_catalog.has_any_column_privilege('safeguard.\(table)', 'UPDATE'), pg_catalog.has_table_privilege('safeguard.\(table)', 'DELETE'),
                       pg_catalog.has_table_privilege('safeguard.\(table)', 'TRUNCATE'), pg_catalog.pg_has_role((SELECT relowner FROM pg_catalog.pg_class WHERE oid = 'safeguard.\(table)'::regclass), 'USAGE'),
                       pg_catalog.has_table_privilege('safeguard.\(table)', 'TRIGGER'), pg_catalog.has_table_privilege('safeguard.\(table)', 'REFERENCES')
                """
            for try await (update, delete, truncate, owner, trigger, references) in try await rows(PostgresQuery(unsafeSQL: q)).decode((Bool, Bool, Bool, Bool, Bool, Bool).self) {
                if owner { out.append("it owns table \(table)") }
                if update { out.append("UPDATE on \(table)") }
                if delete { out.append("DELETE on \(table)") }
                if truncate { out.append("TRUNCATE on \(table)") }
                if trigger { out.append("TRIGGER on \(table)") }
                if references { out.append("REFERENCES on \(table)") }
            }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    // MARK: - Reading

    /// Whether the connected role may read the details records and wrapped keys (an auditor's may not).
    public func mayReadDetails() async throws -> Bool {
        for try await (may) in try await rows("SELECT pg_catalog.has_table_privilege('safeguard.details', 'SELECT') AND pg_catalog.has_table_privilege('safeguard.case_keys', 'SELECT')").decode(Bool.self) {
            return may
        }
        return false
    }

    /// The number of events the store holds and its last entry hash (within the caller's transaction).
    func head() async throws -> (size: Int64, hash: [UInt8]?) {
        for try await (seq, hash) in try await rows("SELECT seq, entry_hash FROM ONLY safeguard.events ORDER BY seq DESC LIMIT 1").decode((Int64, ByteBuffer).self) {
            return (seq + 1, Array(hash.readableBytesView))
        }
        return (0, nil)
    }

    /// Streams every row of the store, in one snapshot, into `queue` as chunks: events with
    /// their details records (and any details record with no event) by seq; then the tree's
    /// nodes, checkpoints and wrapped keys. The schema is checked first.
    func readAll(into queue: ChunkQueue<LedgerRows.Batch>, withhold: Bool, chunk: Int = 2000) async {
        do {
            try await transaction(readOnly: true, doing: "reading the ledger") {
                // The tables are locked against changes to their definition (row security, rules,
                // policies) for the whole read, as the transaction's first statement, before its
                // snapshot is taken: what the schema check then sees is what the reads use.
                // (ACCESS SHARE: writers go on; a standby allows it.) Details are left out only
                // when the reader asks (an auditor's role may not read them), never because a
                // privilege was taken away.
                let tables = ["ledger_format", "events", "tree_nodes", "checkpoints"] + (withhold ? [] : ["details", "case_keys"])
                do {
                    try await run("LOCK TABLE " + tables.map { "ONLY safeguard.\($0)" }.joined(separator: ", ") + " IN ACCESS SHARE MODE")
                } catch let e as PSQLError where e.serverInfo?[.sqlState] == "42501" && !withhold {
                    throw PostgresStoreError("the role '\(url.user)' may not read the ledger's details records at \(url): verify with --details-withheld (the details are then not checked), or connect as a role that may read them")
                } catch let e as PSQLError where ["42P01", "3F000"].contains(e.serverInfo?[.sqlState] ?? "") {
                    throw PostgresStoreError("\(url) holds no ledger (no schema 'safeguard'): move one there with 'safeguard migrate --from FILE --to \(url)'")
                }
                try await checkSchema()
                let readDetails = !withhold
                let mayReadDetails = readDetails
                var batch = LedgerRows.Batch()
                func flush(_ force: Bool) throws {
                    guard force || batch.events.count + batch.details.count >= chunk || batch.treeNodes.count >= chunk || batch.caseKeys.count >= chunk else { return }
                    if !queue.put(batch) { throw CancellationError() }
                    batch = LedgerRows.Batch()
                }
                func bytes(_ b: ByteBuffer?) -> [UInt8]? { b.map { Array($0.readableBytesView) } }
                let columns = "e.seq, e.event_id, e.type, e.case_id, e.agency, e.key_id, e.occurred_at, e.recorded_at, e.prev_hash, e.envelope, e.signature, e.entry_hash"
                let events = try await rows(PostgresQuery(unsafeSQL: mayReadDetails
                    ? "SELECT \(columns), d.seq, d.salt, d.body FROM ONLY safeguard.events e FULL JOIN ONLY safeguard.details d ON d.seq = e.seq ORDER BY COALESCE(e.seq, d.seq)"
                    : "SELECT \(columns), NULL::bigint, NULL::bytea, NULL::bytea FROM ONLY safeguard.events e ORDER BY e.seq"))
                for try await row in events {
                    var cells = row.makeIterator()
                    func next() -> PostgresCell { cells.next()! }
                    let seq = try next().decode(Int64?.self)
                    let id = try next().decode(String?.self), type = try next().decode(String?.self), c = try next().decode(String?.self)
                    let agency = try next().decode(String?.self), key = try next().decode(String?.self)
                    let occurred = try next().decode(String?.self), recorded = try next().decode(String?.self)
                    let prev = try next().decode(ByteBuffer?.self), envelope = try next().decode(ByteBuffer?.self)
                    let signature = try next().decode(ByteBuffer?.self), hash = try next().decode(ByteBuffer?.self)
                    let dseq = try next().decode(Int64?.self), salt = try next().decode(ByteBuffer?.self), body = try next().decode(ByteBuffer?.self)
                    if let seq, let id, let type, let agency, let key, let occurred, let recorded, let prev = bytes(prev), let envelope = bytes(envelope),
                        let signature = bytes(signature), let hash = bytes(hash) {
                        batch.events.append(LedgerRows.Event(seq: seq, eventID: id, type: type, caseID: c, agency: agency, keyID: key, occurredAt: occurred,
                                                             recordedAt: recorded, prevHash: prev, envelope: envelope, signature: signature, entryHash: hash))
                    }
                    if let dseq, let salt = bytes(salt), let body = bytes(body) { batch.details.append(LedgerRows.Details(seq: dseq, salt: salt, body: body)) }
                    try flush(false)
                }
                try flush(true)
                for try await (level, idx, hash) in try await rows("SELECT level, idx, hash FROM ONLY safeguard.tree_nodes ORDER BY level, idx").decode((Int32, Int64, ByteBuffer).self) {
                    batch.treeNodes.append(LedgerRows.TreeNode(level: Int64(level), index: idx, hash: Array(hash.readableBytesView)))
                    try flush(false)
                }
                try flush(true)
                for try await (size, root, note, at) in try await rows("SELECT size, root, note, signed_at FROM ONLY safeguard.checkpoints ORDER BY size").decode((Int64, ByteBuffer, ByteBuffer, String).self) {
                    batch.checkpoints.append(LedgerRows.Checkpoint(size: size, root: Array(root.readableBytesView), note: Array(note.readableBytesView), signedAt: at))
                }
                for try await (c, agency, wrapped, by) in try await rows(mayReadDetails ? "SELECT case_id, agency, wrapped, wrapped_by FROM ONLY safeguard.case_keys ORDER BY case_id, agency"
                                                                         : "SELECT '', '', ''::bytea, '' WHERE false").decode((String, String, ByteBuffer, String).self) {
                    batch.caseKeys.append(LedgerRows.CaseKey(caseID: c, agency: agency, wrapped: Array(wrapped.readableBytesView), wrappedBy: by))
                    try flush(false)
                }
                // And once more at the end, in case anything changed that the locks do not hold off.
                try await checkSchema()
                try flush(true)
            }
            queue.finish()
        } catch {
            queue.finish(error)
        }
    }

    // MARK: - Writing

    /// Writes `batch` (rows another copy of the ledger wrote, in its order) in the caller's
    /// transaction, through COPY: events, then their details records, tree nodes, checkpoints,
    /// and wrapped keys (with the removals the batch records, through the erasure functions).
    func write(_ batch: LedgerRows.Batch) async throws {
        if !batch.events.isEmpty {
            try await copy("events", ["seq", "event_id", "type", "case_id", "agency", "key_id", "occurred_at", "recorded_at", "prev_hash", "envelope", "signature", "entry_hash"],
                           batch.events) { e, line in
                line.int(e.seq); line.text(e.eventID); line.text(e.type); line.text(e.caseID); line.text(e.agency); line.text(e.keyID)
                line.text(e.occurredAt); line.text(e.recordedAt); line.bytes(e.prevHash); line.bytes(e.envelope); line.bytes(e.signature); line.bytes(e.entryHash, last: true)
            }
        }
        if !batch.details.isEmpty {
            try await copy("details", ["seq", "salt", "body"], batch.details) { d, line in line.int(d.seq); line.bytes(d.salt); line.bytes(d.body, last: true) }
        }
        if !batch.treeNodes.isEmpty {
            try await copy("tree_nodes", ["level", "idx", "hash"], batch.treeNodes) { n, line in line.int(n.level); line.int(n.index); line.bytes(n.hash, last: true) }
        }
        if !batch.checkpoints.isEmpty {
            try await copy("checkpoints", ["size", "root", "note", "signed_at"], batch.checkpoints) { c, line in
                line.int(c.size); line.bytes(c.root); line.bytes(c.note); line.text(c.signedAt, last: true)
            }
        }
        for c in batch.replacedKeys {
            try await connection.query("SELECT safeguard.replace_case_keys(\(c))", logger: logger)
        }
        if !batch.caseKeys.isEmpty {
            try await copy("case_keys", ["case_id", "agency", "wrapped", "wrapped_by"], batch.caseKeys) { k, line in
                line.text(k.caseID); line.text(k.agency); line.bytes(k.wrapped); line.text(k.wrappedBy, last: true)
            }
        }
        for (c, review) in batch.erased {
            try await connection.query("SELECT safeguard.erase_case(\(c), \(review))", logger: logger)
        }
    }

    /// COPY safeguard.TABLE FROM STDIN in text format, about a megabyte a message.
    private func copy<T>(_ table: String, _ columns: [String], _ items: [T], _ encode: (T, inout CopyLine) -> Void) async throws {
        // postgres-nio quotes the table name as one identifier: the schema is set for the COPY.
        try await run("SET LOCAL search_path = safeguard, pg_catalog")
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            var line = CopyLine()
            for item in items {
                encode(item, &line)
                if line.buffer.readableBytes > 1 << 20 {
                    try await writer.write(line.buffer)
                    line.buffer.clear()
                }
            }
            if line.buffer.readableBytes > 0 { try await writer.write(line.buffer) }
        }
        try await run("SET LOCAL search_path = pg_catalog")
    }
}

/// One line of COPY's text format: columns separated by tabs, `\N` for NULL, backslash escapes
/// in text, bytea as `\\x` and hex.
struct CopyLine {
    var buffer = ByteBufferAllocator().buffer(capacity: 1 << 21)
    private static let hex = Array("0123456789abcdef".utf8)

    mutating func end(_ last: Bool) { buffer.writeInteger(last ? UInt8(ascii: "\n") : UInt8(ascii: "\t")) }

    mutating func int(_ v: Int64, last: Bool = false) {
        buffer.writeString(String(v))
        end(last)
    }

    mutating func text(_ s: String?, last: Bool = false) {
        guard let s else { buffer.writeStaticString("\\N"); end(last); return }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(b)
            }
        }
        end(last)
    }

    mutating func bytes(_ b: [UInt8], last: Bool = false) {
        buffer.writeStaticString("\\\\x")
        buffer.reserveCapacity(minimumWritableBytes: b.count * 2 + 1)
        for x in b {
            buffer.writeInteger(Self.hex[Int(x >> 4)])
            buffer.writeInteger(Self.hex[Int(x & 15)])
        }
        end(last)
    }
}
