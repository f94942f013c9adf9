import Directory
import EventStore
import Foundation
import LedgerCore
import LedgerService
import Synchronization
import TestSupport
import Testing

/// Several service instances on one PostgreSQL database deliver a burst of changes between them.
@Suite("Publishing from several instances")
struct DirectoryInstancesTests {
    /// Three instances, 1,000 visibility changes, and one instance stopped half-way: the receiver gets every
    /// change; a repeat is possible only for what the stopped instance had claimed, and carries the same id.
    @Test
    func threeInstancesDeliverEveryChangeAndNoneTwiceAtOnce() async throws {
        let receiver = try await DirectoryReceiver.start()
        let url = try await TestDatabase.freshURL(.postgres)
        var instances: [LedgerRuntime] = []
        for _ in 0..<3 { instances.append(try await TestRuntime.open(url)) }
        let first = instances[0]
        do {
            let (_, secret) = try await first.directoryEndpoints.add(url: receiver.url, eventTypes: [.visibilityChanged])
            receiver.trust(secret: secret)

            // 500 profiles, each listed and then hidden: 1,000 visibility changes.
            let profiles = first.profiles
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: 500, by: 8) {
                            let id = try ProfileID("burst-\(index)")
                            _ = try await profiles.handle(.register(kind: .mediator, displayName: "M \(index)", contactEmail: "m\(index)@example.org"), profileID: id, metadata: .init(actor: "test"))
                            _ = try await profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: id, metadata: .init(actor: "test"))
                            let payment = PaymentID(method: .offline, externalID: "burst-\(index)")
                            _ = try await profiles.handle(.allocate(paymentID: payment, amount: .euros(minorUnits: 12_500), effectiveDate: OrganisationCalendar.amsterdam.date(at: Date()), acceptShortfall: false), profileID: id, metadata: .init(actor: "test"))
                            _ = try await profiles.handle(.reverseAllocation(paymentID: payment, kind: .refund, reason: "returned"), profileID: id, metadata: .init(actor: "test"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await (first.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            var expected: Set<String> = []
            var cursor = LogCursor.start
            while true {
                let events = try await first.store.readAll(after: cursor, limit: 1_000)
                guard let last = events.last else { break }
                expected.formUnion(events.filter { $0.type == ListingVisibilityChanged.typeName }.map { $0.id.uuidString.lowercased() })
                cursor = last.cursor
            }
            #expect(expected.count == 1_000)

            let publishers = instances.map { instance in Task { try await instance.directoryPublisher.run() } }
            // Stop one instance once deliveries are flowing.
            let deadline = ContinuousClock.now + .seconds(120)
            while receiver.received.count < 200, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            publishers[0].cancel()
            while Set(receiver.received.map(\.webhookID)).count < expected.count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            for publisher in publishers { publisher.cancel() }

            let received = receiver.received
            let ids = received.map(\.webhookID)
            #expect(Set(ids) == expected, "every change arrives")
            #expect(received.allSatisfy { $0.verified })
            #expect(ids.count - Set(ids).count <= 16, "repeats only for deliveries the stopped instance had claimed")
            // Each profile's changes arrived in log order: listed before hidden.
            var seen: [String: [Bool]] = [:]
            for delivery in received where delivery.data["profileId"] is String {
                seen[delivery.data["profileId"] as! String, default: []].append(delivery.data["listed"] as? Bool ?? false)
            }
            #expect(seen.values.allSatisfy { $0.first == true && $0.last == false })
        } catch {
            for instance in instances { await instance.close() }
            await receiver.stop()
            throw error
        }
        for instance in instances { await instance.close() }
        await receiver.stop()
    }
}
