import SafeguardCore

/// Read models rebuilt from the verified log: case state, audit trails, MASE statistics and
/// recording-practice checks. Filled in by the projections issue; for now it only names the
/// log head a projection would be built from.
public enum Projections {
    /// The projection engine's version; a change forces a rebuild.
    public static let engineVersion = 0

    /// The head a projection built from `summary` would record.
    public static func head(of summary: VerificationSummary) -> (events: Int64, hash: String) {
        (summary.events, Hex.encode(summary.headHash))
    }
}
