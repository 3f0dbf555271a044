// Danmaku — a live-stream bullet-comment service.

/// Which of a Redis Cluster's 16,384 slots a key belongs to (the cluster specification's
/// `HASH_SLOT = CRC16(key) mod 16384`, hashing only the hash tag — the part between the first
/// `{` and the next `}` — when there is a non-empty one).
public enum RedisHashSlot {
    /// How many slots a cluster has.
    public static let count = 16384

    /// The slot of `key`.
    public static func of(_ key: String) -> Int {
        var bytes = Array(key.utf8)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            bytes = Array(bytes[(open + 1)..<close])
        }
        return Int(crc16(bytes)) & (count - 1)
    }

    /// CRC-16/XMODEM (polynomial 0x1021, initial 0), the variant the specification names.
    static func crc16(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}
