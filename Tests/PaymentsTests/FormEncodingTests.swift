import Payments
import Testing

@Suite struct FormEncodingTests {
    @Test func bracketedKeyAndAwkwardValueEncodeExactly() {
        let encoded = FormEncoding.encode([
            ("line_items[0][price_data][currency]", "eur"),
            ("line_items[0][price_data][product_data][name]", "Listing & more = 125 € ~ok"),
        ])
        #expect(
            encoded
                == "line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=eur"
                + "&line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Listing%20%26%20more%20%3D%20125%20%E2%82%AC%20~ok"
        )
    }

    @Test func unreservedCharactersPassThrough() {
        #expect(FormEncoding.encode([("a-b.c_d~e", "AZaz09-._~")]) == "a-b.c_d~e=AZaz09-._~")
    }

    @Test func encodeThenDecodeKeepsOrderAndText() throws {
        let fields: [(String, String)] = [
            ("metadata[profile_id]", "mediator-0042"),
            ("success_url", "https://directory.example.org/thanks?profile=mediator-0042&x=1"),
            ("name", "Zoë + Ünal: 50% off / now"),
            ("empty", ""),
            ("metadata[profile_id]", "repeated"),
        ]
        let decoded = try FormEncoding.decode(FormEncoding.encode(fields))
        #expect(decoded.map(\.0) == fields.map(\.0))
        #expect(decoded.map(\.1) == fields.map(\.1))
    }

    @Test func plusDecodesToSpaceAndMissingEqualsToEmptyValue() throws {
        let decoded = try FormEncoding.decode("name=Listing+fee&flag&&x=a%2Bb")
        #expect(decoded.map(\.0) == ["name", "flag", "x"])
        #expect(decoded.map(\.1) == ["Listing fee", "", "a+b"])
    }

    @Test(arguments: ["a=%", "a=%4", "a=%zz", "a%2=1", "a=%C3%28"])
    func malformedEscapesAreRejected(body: String) {
        #expect(throws: PaymentsError.self) {
            try FormEncoding.decode(body)
        }
    }
}
