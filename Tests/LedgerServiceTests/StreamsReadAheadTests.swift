@testable import EventStore
import Foundation
@testable import LedgerService
import TestSupport
import Testing

/// A statement's hundred lines and a sweep's hundred profiles read their streams ahead, a few queries for all.
/// Streams longer than the first query's bound (profiles after some years) must still be read whole there,
/// or each is read again alone when it is decided on.
@Suite("Streams read ahead")
struct StreamsReadAheadTests {
    @Test(arguments: Backend.allCases)
    func longStreamsAreReadWholeInFewQueries(backend: Backend) async throws {
        // A read limit of 1,000 events: the 154 streams are first read in three queries, up to version 19 or 20.
        let limits = EventStoreLimits(readBatchMax: 1_000)
        try await TestDatabase.withStore(backend, limits: limits) { store, _ in
            let lengths = [1, 15, 16, 17, 40, 200, 999, 1_000, 1_500]
            var names: [String] = []
            for (index, length) in lengths.enumerated() {
                for copy in 0..<(length < 100 ? 30 : 1) {
                    let name = "s-\(index)-\(copy)"
                    names.append(name)
                    var version = 0
                    while version < length {
                        let count = min(length - version, 500)
                        let events = (0..<count).map { NewEvent(id: .timeOrdered(), type: "Noted", data: Data("{\"n\":\(version + $0)}".utf8)) }
                        _ = try await store.append(events, to: name, expecting: .any)
                        version += count
                    }
                }
            }
            try await store.waitUntilAllCommittedEventsAreVisible()

            var ahead = StreamsReadAhead()
            try await ahead.read(names + ["s-none"], from: store)
            for name in names {
                let length = lengths[Int(name.split(separator: "-")[1]) ?? 0]
                // Streams up to the read limit (exclusive) are whole; one of 1,000 events or more is left to be read alone.
                #expect(ahead.holdsWhole(name) == (length < 1_000), "\(name), \(length) events")
                #expect(ahead.hasEvents(name) == true)
            }
            #expect(ahead.hasEvents("s-none") == false)
            // Three queries up to version 19 or 20 (all but the 34 longest streams whole), three up to 83 or 100
            // (all but 4), two up to 500 (all but 3), then each of the last 3 up to 1,000. Read one by one, the
            // streams past the first bound would have taken 34 more queries after the first three.
            #expect(ahead.queries == 11)
        }
    }
}
