@testable import EventStore
import Foundation
import Testing

@Suite("UUID text")
struct UUIDTextTests {
    @Test func readsWhatFoundationWritesInEitherCase() {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(UUIDText.parse(id.uuidString) == id)
            #expect(UUIDText.parse(id.uuidString.lowercased()) == id)
        }
        #expect(UUIDText.parse("00000000-0000-0000-0000-000000000000") == UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        #expect(UUIDText.parse("FFFFFFFF-ffff-FFFF-ffff-FFFFFFFFFFFF") == UUID(uuidString: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"))
    }

    @Test(arguments: [
        "",
        "0e1c3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f",    // one digit short
        "0e1c3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f60",  // one digit long
        "0e1c3f4a5b6c-4d7e-8f90-a1b2c3d4e5f6-",   // a hyphen moved
        "0e1c3f4a-5b6c-4d7e-8f90_a1b2c3d4e5f6",   // not a hyphen
        "0e1c3f4g-5b6c-4d7e-8f90-a1b2c3d4e5f6",   // not hexadecimal
        "{e1c3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
        "0e1c3f4a-5b6c-4d7e-8f90-a1b2c3d4e5é",    // 36 bytes, not 36 characters
    ])
    func refusesAnythingElse(text: String) {
        #expect(UUIDText.parse(text) == nil)
        #expect(UUID(uuidString: text) == nil)
    }
}
