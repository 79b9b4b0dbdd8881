import Foundation
import XCTest

/// Loads the published test vectors in `Vectors/` (copied as a folder by `.copy("Vectors")`,
/// so the files sit under the `Vectors` subdirectory of the test bundle).
enum Vectors {
    struct Missing: Error, CustomStringConvertible {
        let name: String
        var description: String { "test vector file Vectors/\(name).json is not in the test bundle" }
    }

    static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors") else {
            throw Missing(name: name)
        }
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }
}

/// Hex decoding for the vectors, independent of the code under test (`Hex`): accepts
/// either case and ignores spaces and line breaks, as the RFCs print their hex.
func bytes(hex: String) -> [UInt8] {
    let digits = hex.unicodeScalars.filter { !$0.properties.isWhitespace }.map { Character($0) }
    precondition(digits.count % 2 == 0, "odd number of hex digits in a test vector")
    var out = [UInt8]()
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let hi = digits[i].hexDigitValue, let lo = digits[i + 1].hexDigitValue else {
            preconditionFailure("not a hex digit in a test vector: \(digits[i])\(digits[i + 1])")
        }
        out.append(UInt8(hi << 4 | lo))
        i += 2
    }
    return out
}

/// Lowercase hex of `b`, for readable assertion messages (independent of `Hex`).
func hexString(_ b: [UInt8]) -> String {
    b.map { String(format: "%02x", $0) }.joined()
}

/// The UTF-8 bytes of a Swift string literal.
func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }
