import Foundation
import Logging
import SafeguardCore

/// swift-log's records as one JSON object per line on standard error: time, level, label,
/// message and metadata, for a log collector to read. Never given a child's details: the
/// service logs sequence numbers, event ids, key ids and codes only.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private static let lock = NSLock()

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var o: [String: JSONValue] = [
            "time": .string(Timestamp(seconds: Int64(Date().timeIntervalSince1970)).description), "level": .string(event.level.rawValue),
            "label": .string(label), "message": .string("\(event.message)"),
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { o[k] = .string("\(v)") }
        guard var data = try? CanonicalJSON.encode(.object(o)) else { return }
        data.append(0x0A)
        Self.lock.lock()
        FileHandle.standardError.write(Data(data))
        Self.lock.unlock()
    }
}
