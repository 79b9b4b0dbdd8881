import Foundation
import GRDB
import Projections
import SafeguardCore
import SafeguardStore

/// Opens the read models for a report, refusing when they were never built.
func openProjections(_ ledger: LedgerOptions) throws -> ProjectionEngine {
    let engine = try ReadModels.engine(try ledger.open(readOnly: true), create: false)
    guard !(try engine.status()).isEmpty else { throw InputError(ProjectionEngine.Failure.notBuilt.description) }
    return engine
}

/// The line every report starts with: what it was built from, so its figures can be re-derived.
func provenance(_ engine: ProjectionEngine, _ names: [String]) throws -> (text: String, json: JSONValue) {
    let all = try engine.status().filter { names.contains($0.name) }
    guard let first = all.first else { throw InputError(ProjectionEngine.Failure.notBuilt.description) }
    let digests = all.map { "\($0.name) \($0.digest)" }.joined(separator: ", ")
    var text = "Built from the log at size \(first.events), head \(first.headHash); digests: \(digests)"
    if first.behind > 0 { text += " (\(first.behind) newer events not included: run 'safeguard project update')" }
    let json: JSONValue = .object(["log_size": .integer(first.events), "head_hash": .string(first.headHash),
                                   "digests": .object(Dictionary(uniqueKeysWithValues: all.map { ($0.name, JSONValue.string($0.digest)) }))])
    return (text, json)
}

/// A row as JSON: integers, strings, nulls.
func rowJSON(_ row: Row) -> JSONValue {
    var o: [String: JSONValue] = [:]
    for (column, value) in row {
        switch value.storage {
        case .null: break
        case .int64(let i): o[column] = .integer(i)
        case .string(let s): o[column] = .string(s)
        case .double(let d): o[column] = .string(String(d))
        case .blob(let b): o[column] = .string(Hex.encode([UInt8](b)))
        }
    }
    return .object(o)
}
