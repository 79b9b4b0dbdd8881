import SafeguardCatalogue

/// The tests' seeded generator: the catalogue's SplitMix64, so that a failure can be replayed.
public typealias SeededGenerator = SplitMix64
