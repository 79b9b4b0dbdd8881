import Foundation
import GRDB

/// Reads columns by storage class, throwing instead of trapping on NULL or a wrong type.
enum RowReader {
    struct Malformed: Error, CustomStringConvertible {
        let column: String
        var description: String { "the ledger's \(column) column holds a value of the wrong type: run 'safeguard verify'" }
    }

    static func integer(_ row: Row, _ i: Int, _ column: String) throws -> Int64 {
        guard case .int64(let v) = (row[i] as DatabaseValue).storage else { throw Malformed(column: column) }
        return v
    }

    static func text(_ row: Row, _ i: Int, _ column: String) throws -> String {
        guard case .string(let v) = (row[i] as DatabaseValue).storage else { throw Malformed(column: column) }
        return v
    }

    static func optionalText(_ row: Row, _ i: Int, _ column: String) throws -> String? {
        switch (row[i] as DatabaseValue).storage {
        case .null: return nil
        case .string(let v): return v
        default: throw Malformed(column: column)
        }
    }

    static func blob(_ row: Row, _ i: Int, _ column: String) throws -> [UInt8] {
        guard case .blob(let v) = (row[i] as DatabaseValue).storage else { throw Malformed(column: column) }
        return [UInt8](v)
    }
}
