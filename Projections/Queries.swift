import GRDB
import SafeguardCatalogue
import SafeguardStore

/// `YYYY-MM-DD` of a day, remembering the last one asked for: events come in time order, so
/// most are on the same day as the one before.
struct DayText {
    private var last: (Int64, String) = (Int64.min, "")
    mutating func of(_ day: Day) -> String {
        if day.number != last.0 { last = (day.number, day.description) }
        return last.1
    }
}

/// Runs `sql` with `values` and returns its rows, every text value exactly as stored.
func query(_ db: Database, _ sql: String, _ values: DirectStatement.Value...) throws -> [[DirectStatement.Value]] {
    try DirectStatement(db, sql, values).rows()
}

/// Runs a statement with `values` (texts bound with their exact bytes).
func execute(_ db: Database, _ sql: String, _ values: DirectStatement.Value...) throws {
    try DirectStatement(db, sql, values).run()
}
