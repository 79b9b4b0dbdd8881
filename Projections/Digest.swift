import GRDB
import GRDBSQLite
import SafeguardCore

/// SHA-256 over a projection's rows: for each table in order, the line `table NAME`, then each
/// row (ordered by the table's key) as the canonical JSON (RFC 8785) array of its column values
/// (integers, strings, null; blobs as lowercase hex strings, floats as strings), one per line.
/// Documented in docs/PROJECTIONS.md. The rows are read and encoded straight from SQLite's
/// buffers: the digest covers every row of every read model, so it must be cheap.
enum Digest {
    static func of(_ p: any Projection, _ db: Database) throws -> String {
        // Hashing runs on another thread while this one reads and encodes the rows.
        let hasher = Background()
        try Pipeline.inBackground(consume: { hasher.update($0) }) { sink in try encode(p, db, sink) }
        return Hex.encode(hasher.finish())
    }

    private final class Background: @unchecked Sendable {
        private var h = SHA256.Hasher()
        func update(_ bytes: [UInt8]) { h.update(bytes) }
        func finish() -> [UInt8] { h.finish() }
    }

    /// The digested text of a projection's tables, in chunks of about 64 KiB.
    static func encode(_ p: any Projection, _ db: Database, _ sink: ([UInt8]) throws -> Void) throws {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 17)
        for t in p.tables {
            out.append(contentsOf: Array("table \(t.name)\n".utf8))
            let statement = try db.makeStatement(sql: "SELECT * FROM \(t.name) ORDER BY \(t.orderBy)")
            let s = statement.sqliteStatement
            let columns = sqlite3_column_count(s)
            defer { sqlite3_reset(s) }
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
                out.append(UInt8(ascii: "["))
                for i in 0..<columns {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    switch sqlite3_column_type(s, i) {
                    case SQLITE_INTEGER: CanonicalJSON.writeInteger(sqlite3_column_int64(s, i), into: &out)
                    case SQLITE_FLOAT: CanonicalJSON.writeString(String(sqlite3_column_double(s, i)), into: &out)
                    case SQLITE_TEXT:
                        let n = Int(sqlite3_column_bytes(s, i))
                        let bytes = UnsafeBufferPointer(start: sqlite3_column_text(s, i), count: n)
                        CanonicalJSON.writeString(bytes, into: &out)
                    case SQLITE_BLOB:
                        let n = Int(sqlite3_column_bytes(s, i))
                        let raw = sqlite3_column_blob(s, i)
                        let bytes = n == 0 ? [] : [UInt8](UnsafeRawBufferPointer(start: raw, count: n))
                        CanonicalJSON.writeString(Hex.encode(bytes), into: &out)
                    default: out.append(contentsOf: "null".utf8)
                    }
                }
                out.append(contentsOf: "]\n".utf8)
                if out.count >= 1 << 16 {
                    try sink(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
        }
        try sink(out)
    }
}
