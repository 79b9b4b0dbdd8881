// Shared by the fuzz targets (compiled into each, with SafeguardCore's sources, as one module).
enum FuzzKeys {
    /// A fixed key from a one-byte label: fuzzing needs no secret.
    static func key(_ label: UInt8) -> SigningKey {
        var seed = [UInt8](repeating: label, count: 32)
        return SigningKey(seed: SecretBytes(consuming: &seed))
    }
}
