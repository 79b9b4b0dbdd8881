import Foundation
import SafeguardCore
import SafeguardService
import SafeguardStore

/// The log service under load (tools/load): many practitioners at once, each signing its
/// statements on its own thread and waiting for each receipt before sending the next, as
/// `safeguard record --server` does. Statements are signed before the clock starts, so the
/// figure is the service's, not this generator's signing.
enum LoadTest {
    static func run(server: String, keys: String, clients: Int, events: Int, caseID: String, acks: String) -> Never {
        do {
            let client = try LogClient(server: server, timeout: 120)
            let log = try client.log()
            let at = log.now
            // Each client's statements, signed in advance.
            var bodies: [[[UInt8]]] = []
            var statements: [[SignedStatement]] = []
            for c in 0..<clients {
                let key = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: "\(keys)/p\(c).key"))), passphrase: { nil })
                let actor = try client.enrolment(key.publicKey.keyID)
                var b: [[UInt8]] = [], st: [SignedStatement] = []
                for i in 0..<events {
                    let draft = EventDraft(type: "contact.recorded", caseID: caseID, occurredAt: at,
                                           facts: ["contact_type": "phone", "indicators": .array([.string("A\(1 + (c + i) % 19)")])],
                                           details: ["narrative": .string("synthetic load test note \(c)-\(i)")])
                    let sealed = try SealedDetails(draft.details)
                    let statement = try SignedStatement(draft: draft, sealed: sealed, actor: actor, eventID: Sodium.uuid(), key: key, origin: log.origin)
                    b.append(try CanonicalJSON.encode(ServiceAPI.Submission(statement: statement, details: sealed).json))
                    st.append(statement)
                }
                bodies.append(b)
                statements.append(st)
            }
            FileManager.default.createFile(atPath: acks, contents: nil)
            let ackFile = FileHandle(forWritingAtPath: acks)!
            final class Shared: @unchecked Sendable {
                let lock = NSLock()
                var latencies: [Double] = []
                var failures: [String] = []
            }
            let shared = Shared(), lock = shared.lock
            let (allBodies, allStatements) = (bodies, statements)
            let group = DispatchGroup()
            let start = Date()
            for c in 0..<clients {
                group.enter()
                let t = Thread {
                    defer { group.leave() }
                    var mine: [Double] = []
                    guard let connection = try? Connection(url: server) else {
                        lock.lock(); shared.failures.append("client \(c): cannot connect"); lock.unlock()
                        return
                    }
                    for i in 0..<events {
                        let t0 = Date()
                        do {
                            let (status, answer) = try connection.post("/v1/statements", body: allBodies[c][i])
                            let json = try JSONParser.parse(answer)
                            guard status == 201 else { throw ServiceError(json: json, status: status) ?? ServiceError.malformed("HTTP \(status)") }
                            let receipt = try ServiceAPI.Receipt(json: json)
                            _ = try receipt.check(against: allStatements[c][i], logKey: log.logKey)
                            mine.append(Date().timeIntervalSince(t0))
                            lock.lock(); ackFile.write(Data((receipt.eventID + "\n").utf8)); lock.unlock()
                        } catch {
                            lock.lock(); shared.failures.append("client \(c) event \(i): \(error)"); let many = shared.failures.count > 20; lock.unlock()
                            if many { return }
                        }
                    }
                    lock.lock(); shared.latencies += mine; lock.unlock()
                }
                t.stackSize = 1 << 20
                t.start()
            }
            group.wait()
            let elapsed = Date().timeIntervalSince(start)
            try ackFile.synchronize()
            let latencies = shared.latencies.sorted(), failures = shared.failures
            func pct(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000 }
            print("load_clients \(clients)")
            print("load_acknowledged \(latencies.count)")
            print("load_failed \(failures.count)")
            print(String(format: "load_seconds %.2f", elapsed))
            print(String(format: "load_appends_per_s %.0f", Double(latencies.count) / elapsed))
            print(String(format: "load_p50_ms %.1f", pct(0.5)))
            print(String(format: "load_p99_ms %.1f", pct(0.99)))
            for f in failures.prefix(5) { FileHandle.standardError.write(Data("failed: \(f)\n".utf8)) }
            exit(failures.isEmpty ? 0 : 1)
        } catch {
            FileHandle.standardError.write(Data("safeguard-bench load: \(error)\n".utf8))
            exit(1)
        }
    }
}

/// One keep-alive HTTP/1.1 connection over a blocking socket: a load generator that costs the
/// machine little, so that the figure is the service's (URLSession costs about as much CPU
/// per request as the service itself).
final class Connection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(url: String) throws {
        guard let u = URL(string: url), let port = u.port else { throw ServiceError.malformed("bad URL \(url)") }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(u.host ?? "127.0.0.1")
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { close(fd); throw ServiceError.unavailable("cannot connect to \(url)") }
    }

    deinit { close(fd) }

    func post(_ path: String, body: [UInt8]) throws -> (Int, [UInt8]) {
        let head = "POST \(path) HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        let request = Array(head.utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ServiceError.unavailable("connection closed while sending") }
            sent += n
        }
        // The head, then Content-Length bytes of body.
        var headerEnd: Int?
        while headerEnd == nil {
            try fill()
            headerEnd = find([13, 10, 13, 10])
        }
        let headText = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        let status = Int(headText.split(separator: " ").dropFirst().first ?? "") ?? 0
        var length = 0
        for line in headText.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let start = headerEnd! + 4
        while buffer.count < start + length { try fill() }
        let answer = Array(buffer[start..<(start + length)])
        buffer.removeFirst(start + length)
        return (status, answer)
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw ServiceError.unavailable("connection closed while receiving") }
        buffer += chunk[..<n]
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for i in 0...(buffer.count - pattern.count) where buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern { return i }
        return nil
    }
}
