import Foundation
import GRDB
import SafeguardCore
import XCTest

@testable import SafeguardStore

/// The log's checkpoints: signed under its origin with the key the log names, kept in the
/// file, and never signed when the log no longer extends what the signer signed before (by its
/// own record, whatever the file's table says).
final class CheckpointStoreTests: XCTestCase {
    func key(_ b: UInt8) -> SigningKey {
        var s = [UInt8](repeating: b, count: 32)
        return SigningKey(seed: SecretBytes(consuming: &s))
    }

    func testCheckpointsAreSignedStoredAndConsistent() throws {
        let f = try Fixture()
        let logKey = key(42)
        let t = Timestamp(rfc3339: "2026-03-02T12:00:00Z")!
        let first = try f.checkpoint(key: logKey, at: t)
        XCTAssertTrue(first.new)
        let origin = try XCTUnwrap(f.ledger.state().genesis?.origin)
        let vkey = try XCTUnwrap(NoteVerifier(name: origin, publicKey: logKey.publicKey))
        let opened = try Checkpoint.open(first.note, log: vkey).checkpoint
        XCTAssertEqual(opened, first.checkpoint)
        XCTAssertEqual(opened.size, try f.ledger.head()!.size)
        XCTAssertEqual(opened.root, try f.ledger.treeRoot().root)
        // Nothing new: the same checkpoint back, no new row.
        let again = try f.checkpoint(key: logKey, at: t)
        XCTAssertFalse(again.new)
        XCTAssertEqual(again.note, first.note)
        XCTAssertEqual(try f.ledger.checkpoints().count, 1)
        // The log grows; the next checkpoint extends the first, as a consistency proof shows.
        try f.appendContacts(5)
        let second = try f.checkpoint(key: logKey, at: t)
        XCTAssertTrue(second.new)
        XCTAssertEqual(try f.ledger.checkpoints().map(\.size), [first.checkpoint.size, second.checkpoint.size])
        let proof = try f.ledger.consistencyProof(old: first.checkpoint.size, new: second.checkpoint.size)
        XCTAssertNoThrow(try Merkle.verifyConsistency(old: first.checkpoint.size, new: second.checkpoint.size, oldRoot: first.checkpoint.root,
                                                      newRoot: second.checkpoint.root, proof: proof))
    }

    func testARewrittenOrShortenedLogIsNotCheckpointed() throws {
        let f = try Fixture()
        try f.appendContacts(8)
        let logKey = key(42)
        let t = Timestamp(rfc3339: "2026-03-02T12:00:00Z")!
        let signed = try f.checkpoint(key: logKey, at: t).checkpoint
        try f.appendContacts(3)
        // Another key than the one the log names signs nothing.
        XCTAssertThrowsError(try CheckpointSigner.sign(f.ledger, key: key(43), statePath: f.dir.appendingPathComponent("other.state").path,
                                                      trustAnchor: f.root.publicKey, at: t)) { error in
            XCTAssertEqual(error as? Ledger.CheckpointRefusal, .notBound(key: key(43).publicKey.keyID, bound: logKey.publicKey.keyID), "\(error)")
        }
        // History before the checkpoint rewritten: the first 16 events' subtree differs now.
        // By its own record the signer finds the log no longer the one it signed.
        try f.tamper { try $0.execute(sql: "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 0") }
        XCTAssertThrowsError(try f.checkpoint(key: logKey, at: t)) { error in
            guard case Ledger.CheckpointRefusal.inconsistent(let size, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(size, signed.size)
            XCTAssertTrue("\(error)".contains("nothing was signed"))
        }
        XCTAssertEqual(try f.ledger.checkpoints().count, 1)

        // The tail cut off after a checkpoint, the checkpoints table emptied, and the log grown
        // again past the old size: by its own record the signer finds the log inconsistent.
        let g = try Fixture()
        try g.appendContacts(8)
        let before = try g.checkpoint(key: logKey, at: t).checkpoint
        try g.tamper { db in
            try db.execute(sql: "DELETE FROM events WHERE seq >= ?", arguments: [before.size - 2])
            try db.execute(sql: "DELETE FROM tree_nodes WHERE (idx + 1) << level > ?", arguments: [before.size - 2])
            try db.execute(sql: "DELETE FROM details WHERE seq >= ?", arguments: [before.size - 2])
            try db.execute(sql: "DELETE FROM checkpoints")
        }
        let statePath = g.dir.appendingPathComponent("cp-\(logKey.publicKey.keyID).state").path
        XCTAssertThrowsError(try CheckpointSigner.sign(g.ledger, key: logKey, statePath: statePath, trustAnchor: g.root.publicKey, at: t)) { error in
            guard case Ledger.CheckpointRefusal.inconsistent(let size, _, let now) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(size, before.size)
            XCTAssertTrue(now.contains("the log has \(before.size - 2) events"), now)
            XCTAssertTrue("\(error)".contains("nothing was signed"), "\(error)")
        }
        // Grown back past the signed size (the log key named again, more contacts): a second
        // tree of the same size and more, inconsistent with the first; still nothing signed.
        try g.ledger.append([GovernanceDrafts.logKey(logKey.publicKey, at: Fixture.start)], signer: g.root, clock: g.clock, newID: g.newID)
        try g.appendContacts(3)
        XCTAssertThrowsError(try CheckpointSigner.sign(g.ledger, key: logKey, statePath: statePath, trustAnchor: g.root.publicKey, at: t)) { error in
            guard case Ledger.CheckpointRefusal.inconsistent(let size, _, let now) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(size, before.size)
            XCTAssertTrue(now.contains("are not the ones signed"), now)
        }
        XCTAssertEqual(try g.ledger.checkpoints().count, 0)
    }

    func testStoredCheckpointsCannotBeChangedOrGoBackwards() throws {
        let f = try Fixture()
        try f.checkpoint(key: key(42), at: Timestamp(rfc3339: "2026-03-02T12:00:00Z")!)
        let q = try DatabaseQueue(path: f.path)
        XCTAssertThrowsError(try q.write { try $0.execute(sql: "UPDATE checkpoints SET size = 1") })
        XCTAssertThrowsError(try q.write { try $0.execute(sql: "DELETE FROM checkpoints") })
        XCTAssertThrowsError(try q.write { try $0.execute(sql: "INSERT INTO checkpoints VALUES (1, zeroblob(32), x'00', '2026-03-02T12:00:00Z')") })
    }
}
