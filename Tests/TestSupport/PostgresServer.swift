import Foundation

/// A real PostgreSQL server for a test: `initdb` in a temporary folder, started on a port of
/// its own on loopback, stopped (and its folder removed) afterwards. No mock. As root, the
/// server runs as the `postgres` user (PostgreSQL refuses to run as root). `tools/setup`
/// installs PostgreSQL 15; $SAFEGUARD_PG_BIN names another folder of its programs.
public final class PostgresServer: @unchecked Sendable {
    public let folder: String
    public let data: String
    public let port: Int
    public private(set) var running = false

    /// The folder of PostgreSQL's programs (initdb, pg_ctl, postgres, psql), or nil.
    public static let binaries: String? = {
        if let b = ProcessInfo.processInfo.environment["SAFEGUARD_PG_BIN"], FileManager.default.fileExists(atPath: b + "/initdb") { return b }
        for v in ["15", "16", "17", "14"] where FileManager.default.fileExists(atPath: "/usr/lib/postgresql/\(v)/bin/initdb") {
            return "/usr/lib/postgresql/\(v)/bin"
        }
        return nil
    }()

    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The superuser the cluster is made with (it owns the ledger's schema in the tests).
    public static let owner = "safeguard_owner"

    private init(folder: String, data: String, port: Int) {
        self.folder = folder; self.data = data; self.port = port
    }

    /// A new cluster, started. `settings` go to postgresql.conf.
    public static func start(settings: [String: String] = [:]) throws -> PostgresServer {
        let folder = try makeFolder()
        let server = PostgresServer(folder: folder, data: folder + "/data", port: freePort())
        try server.run("initdb", ["-D", server.data, "-U", owner, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        try server.configure(settings)
        try server.startServer()
        return server
    }

    /// A streaming standby of `primary`, made with pg_basebackup, started.
    public static func standby(of primary: PostgresServer, name: String = "standby1", settings: [String: String] = [:]) throws -> PostgresServer {
        let folder = try makeFolder()
        let server = PostgresServer(folder: folder, data: folder + "/data", port: freePort())
        try server.run("pg_basebackup", ["-h", "127.0.0.1", "-p", "\(primary.port)", "-U", owner, "-D", server.data, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
                                         "-d", "application_name=\(name)"])
        try server.configure(settings)
        try server.startServer()
        return server
    }

    private func configure(_ settings: [String: String]) throws {
        var conf = """

            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(folder)'
            shared_buffers = 64MB
            max_connections = 60
            fsync = off
            full_page_writes = off
            log_min_messages = warning
            logging_collector = off

            """
        for (k, v) in settings.sorted(by: { $0.key < $1.key }) { conf += "\(k) = \(v)\n" }
        let path = data + "/postgresql.auto.conf"
        let old = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        try run("sh", ["-c", "cat >> \(path) <<'EOF'\n\(old.isEmpty ? "" : "\n")\(conf)\nEOF"])
    }

    private func startServer() throws {
        try run("pg_ctl", ["-D", data, "-l", folder + "/log", "-w", "-t", "60", "start"])
        running = true
    }

    /// The URL of database `database` as `user`, on loopback, without TLS.
    public func url(user: String = PostgresServer.owner, database: String = "postgres") -> String {
        "postgres://\(user)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Runs SQL through psql as the owner (or `user`), returning what it prints (unaligned, no headers).
    @discardableResult
    public func psql(_ sql: String, user: String = PostgresServer.owner, database: String = "postgres") throws -> String {
        try run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", database, "-c", sql])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// psql's error output for SQL expected to fail (nil if it succeeded).
    public func psqlError(_ sql: String, user: String = PostgresServer.owner, database: String = "postgres") -> String? {
        do { try psql(sql, user: user, database: database); return nil } catch { return "\(error)" }
    }

    /// The postmaster's process id.
    public var pid: Int32? {
        guard let text = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// Kills the postmaster with SIGKILL, as a machine lost would leave it (its backends exit
    /// when they see it gone).
    public func kill() {
        // The postmaster and every process it started, at once: nothing of the server is left to
        // finish a write or answer a client.
        if let pid {
            var all = [pid]
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")") else { continue }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                if fields.count > 2, Int32(fields[1]) == pid { all.append(child) }
            }
            for p in all { Glibc.kill(p, SIGKILL) }
        }
        running = false
        // Its backends end once they notice; the folder stays until `remove`.
        for _ in 0..<100 where (try? run("pg_isready", ["-h", "127.0.0.1", "-p", "\(port)"])) != nil { usleep(50_000) }
    }

    /// Promotes a standby to primary, waiting until it accepts writes.
    public func promote() throws {
        try run("pg_ctl", ["-D", data, "-w", "-t", "60", "promote"])
    }

    public func stop() {
        if running { _ = try? run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]) }
        running = false
    }

    /// Stops the server and removes its folder.
    public func remove() {
        stop()
        if let pid, Glibc.kill(pid, 0) == 0 { Glibc.kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    deinit { remove() }

    // MARK: - One server for the test run

    nonisolated(unsafe) private static var sharedServer: PostgresServer?
    nonisolated(unsafe) private static var databases = 0
    private static let sharedLock = NSLock()

    /// A new empty database on the test run's shared server (started the first time, with the
    /// roles the tests grant to: `svc`, which the service connects as, and `auditor`), removed
    /// when the run exits.
    public static func newDatabase() throws -> (server: PostgresServer, name: String) {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        if sharedServer == nil {
            let s = try start()
            try s.psql("CREATE ROLE svc LOGIN")
            try s.psql("CREATE ROLE auditor LOGIN")
            sharedServer = s
            atexit { PostgresServer.sharedServer?.remove() }
        }
        databases += 1
        let name = "ledger\(databases)"
        try sharedServer!.psql("CREATE DATABASE \(name)")
        return (sharedServer!, name)
    }

    // MARK: - Processes

    private static var asRoot: Bool { getuid() == 0 }

    private static func makeFolder() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/safeguard-pg-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw Failed(description: "cannot make a temporary folder") }
        let folder = String(cString: p)
        if asRoot, let pw = getpwnam("postgres") {
            chown(folder, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        chmod(folder, 0o700)
        return folder
    }

    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Runs one of PostgreSQL's programs (as the `postgres` user when root), returning its output.
    @discardableResult
    func run(_ program: String, _ arguments: [String]) throws -> String {
        guard let bin = Self.binaries else { throw Failed(description: "PostgreSQL is not installed: run tools/setup") }
        let path = program == "sh" ? "/bin/sh" : bin + "/" + program
        let argv = Self.asRoot ? ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", path] + arguments : [path] + arguments
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = folder
        env["PGCONNECT_TIMEOUT"] = "10"
        // Output to files, not pipes (a server pg_ctl starts would hold a pipe open), and
        // posix_spawn with waitpid: Foundation's Process can miss the exit of a program whose
        // child outlives it.
        let outPath = NSTemporaryDirectory() + "/safeguard-pg-out-\(UUID().uuidString)", errPath = outPath + ".err"
        defer { unlink(outPath); unlink(errPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard spawned == 0 else { throw Failed(description: "cannot start \(program): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = FileManager.default.contents(atPath: outPath) ?? Data(), errors = FileManager.default.contents(atPath: errPath) ?? Data()
        let exited = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exited == 0 else {
            throw Failed(description: "\(program) \(arguments.prefix(3).joined(separator: " ")) … failed (\(exited)): "
                         + String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: output, as: UTF8.self)
    }
}
