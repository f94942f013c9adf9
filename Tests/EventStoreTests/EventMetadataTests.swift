@testable import EventStore
import Foundation
import Testing

@Suite("Event metadata")
struct EventMetadataTests {
    @Test(arguments: [
        EventMetadata(),
        EventMetadata(actor: "staff:Anna"),
        EventMetadata(actor: "staff:\"Zoë\" \\ / 调解员 🕊️", causationID: "a\nb\tc\r\u{01}\u{1F}", correlationID: "", requestID: "r-1"),
        EventMetadata(actor: "backspace \u{08} form feed \u{0C} vertical tab \u{0B}"),
        EventMetadata(actor: "staff:Anna", requestID: "r-2", commandDigest: "9f86d081884c7d65"),
    ])
    func metadataRoundTripsAndIsValidSortedJSON(metadata: EventMetadata) throws {
        let data = metadata.encoded()
        #expect(EventMetadata.decoded(from: data) == metadata)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
        #expect(object.count == [metadata.actor, metadata.causationID, metadata.correlationID, metadata.requestID, metadata.commandDigest].compactMap { $0 }.count)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(data == (try encoder.encode(metadata)))
    }
}
