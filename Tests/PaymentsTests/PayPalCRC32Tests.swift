import Payments
import Testing

@Suite struct PayPalCRC32Tests {
    @Test func standardCheckValueIsUnsignedDecimal() {
        #expect(PayPalCRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(PayPalCRC32.decimal(Array("123456789".utf8)) == "3421780262")
    }

    @Test func emptyInputIsZero() {
        #expect(PayPalCRC32.checksum([UInt8]()) == 0)
    }

    @Test func knownVectorsFromZlib() {
        // zlib.crc32(b"The quick brown fox jumps over the lazy dog") and zlib.crc32(b"a").
        #expect(PayPalCRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        #expect(PayPalCRC32.checksum(Array("a".utf8)) == 0xE8B7_BE43)
    }

    @Test func signedStringJoinsWithBarsAndEndsWithTheChecksum() {
        let signed = PayPalTransmission.signedString(
            transmissionID: "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
            transmissionTime: "2025-03-03T11:06:40Z",
            webhookID: "1JE4291016473214C",
            body: Array("123456789".utf8)
        )
        #expect(signed == "69cd13f0-d67a-11e5-baa3-778b53f4ae55|2025-03-03T11:06:40Z|1JE4291016473214C|3421780262")
    }
}
