import GRDB
import SafeguardCore

/// SHA-256 over a projection's rows: for each table in order, each row (ordered by the
/// table's key) as canonical JSON of its column values (integers, strings, null; blobs as
/// hex), one per line. Documented in docs/PROJECTIONS.md.
enum Digest {
    static func of(_ p: any Projection, _ db: Database) throws -> String {
        var h = SHA256.Hasher()
        for t in p.tables {
            h.update(Array("table \(t.name)\n".utf8))
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(t.name) ORDER BY \(t.orderBy)")
            while let row = try rows.next() {
                var values: [JSONValue] = []
                for dbValue in row.databaseValues {
                    switch dbValue.storage {
                    case .null: values.append(.null)
                    case .int64(let i): values.append(.integer(i))
                    case .double(let d): values.append(.string(String(d)))
                    case .string(let s): values.append(.string(s))
                    case .blob(let b): values.append(.string(Hex.encode([UInt8](b))))
                    }
                }
                h.update(try CanonicalJSON.encode(.array(values)) + [0x0A])
            }
        }
        return Hex.encode(h.finish())
    }
}
