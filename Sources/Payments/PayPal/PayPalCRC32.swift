/// CRC-32 as PayPal uses it in webhook signatures: IEEE 802.3, reflected, polynomial `0xEDB88320`, initial value
/// and final XOR `0xFFFFFFFF` (the zlib and PNG checksum).
///
/// PayPal signs the checksum of the raw body rather than the body itself, printed as an unsigned decimal, so
/// `"123456789"` becomes `3421780262` (`0xCBF43926`), never a negative or hexadecimal number.
public enum PayPalCRC32 {
    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// The checksum of `bytes` as PayPal prints it in the signed string: unsigned decimal.
    public static func decimal(_ bytes: some Sequence<UInt8>) -> String {
        String(checksum(bytes))
    }

    /// One entry per byte value: the remainder of that byte shifted through the polynomial eight times.
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }
}
