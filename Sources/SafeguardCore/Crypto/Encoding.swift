import CSodium

/// Lowercase hexadecimal, the form every hash and key id takes in the envelope.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = digits[Int(b >> 4)]
                out[2 * i + 1] = digits[Int(b & 0x0f)]
            }
            return bytes.count * 2
        }
    }

    /// Parses lowercase hex only (the canonical form); nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { u -> [UInt8]? in
            guard u.count % 2 == 0 else { return nil }
            var bad: UInt8 = 0
            let out = [UInt8](unsafeUninitializedCapacity: u.count / 2) { buffer, written in
                var i = 0
                while i < u.count {
                    let hi = nibble(u[i]), lo = nibble(u[i + 1])
                    bad |= (hi | lo) & 0xF0
                    buffer[i / 2] = hi << 4 | (lo & 0x0F)
                    i += 2
                }
                written = u.count / 2
            }
            return bad == 0 ? out : nil
        }
    }

    /// The value of a lowercase hex digit, or 0xFF.
    @inline(__always)
    private static func nibble(_ c: UInt8) -> UInt8 {
        let d = c &- UInt8(ascii: "0"), l = c &- UInt8(ascii: "a")
        return d < 10 ? d : l < 6 ? l &+ 10 : 0xFF
    }
}

/// Standard base64 with padding (RFC 4648 §4), through libsodium's constant-time codec.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        Sodium.ensureReady()
        let variant = sodium_base64_VARIANT_ORIGINAL
        let len = sodium_base64_encoded_len(bytes.count, variant)
        var out = [CChar](repeating: 0, count: len)
        bytes.withUnsafeBufferPointer { b in
            _ = sodium_bin2base64(&out, len, b.baseAddress, b.count, variant)
        }
        return out.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Strict decoding: no whitespace, correct padding; nil otherwise.
    public static func decode(_ text: String) -> [UInt8]? {
        Sodium.ensureReady()
        let input = Array(text.utf8)
        guard !input.isEmpty else { return [] }
        var out = [UInt8](repeating: 0, count: input.count)
        var outLen = 0
        let rc = input.withUnsafeBufferPointer { i in
            i.withMemoryRebound(to: CChar.self) { c in
                sodium_base642bin(&out, out.count, c.baseAddress, c.count, nil, &outLen, nil, sodium_base64_VARIANT_ORIGINAL)
            }
        }
        guard rc == 0 else { return nil }
        let decoded = Array(out.prefix(outLen))
        // Reject non-canonical encodings (stray trailing bits): re-encode and compare.
        return encode(decoded) == text ? decoded : nil
    }
}
