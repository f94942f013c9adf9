import Directory
import EventStore
import Foundation
import LedgerCore
import LedgerService
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Three `serve` processes on one PostgreSQL database publish a burst of 1,000 visibility changes between
/// them; one is killed (SIGKILL) half-way.
@Suite("serve: several instances")
struct ServeInstancesTests {
    @Test
    func threeServeProcessesDeliverEveryChangeEvenWhenOneIsKilled() async throws {
        let receiver = try await DirectoryReceiver.start()
        let url = try await TestDatabase.freshURL(.postgres)
        #expect(try await CLI.run(["migrate", "--database-url", url.connectionString]).status == 0)
        let runtime = try await TestRuntime.open(url)
        let folder = TestScratch.folder.appendingPathComponent("ledger-instances-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var servers: [RunningProcess] = []
        do {
            let (_, secret) = try await runtime.directoryEndpoints.add(url: receiver.url, eventTypes: [.visibilityChanged])
            receiver.trust(secret: secret)
            for _ in 0..<3 {
                let server = try CLI.start(["serve", "--port", "0", "--database-url", url.connectionString], directory: folder)
                _ = try await server.waitForLine(containing: "listening on", timeout: .seconds(60))
                servers.append(server)
            }

            // 500 profiles, each listed and then hidden: 1,000 visibility changes, appended while the servers run.
            let profiles = runtime.profiles
            let burst = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            for index in stride(from: worker, to: 500, by: 8) {
                                let id = try ProfileID("burst-\(index)")
                                let metadata = EventMetadata(actor: "test")
                                _ = try await profiles.handle(.register(kind: .mediator, displayName: "M \(index)", contactEmail: "m\(index)@example.org"), profileID: id, metadata: metadata)
                                _ = try await profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: id, metadata: metadata)
                                let payment = PaymentID(method: .offline, externalID: "burst-\(index)")
                                _ = try await profiles.handle(.allocate(paymentID: payment, amount: .euros(minorUnits: 12_500), effectiveDate: OrganisationCalendar.amsterdam.date(at: Date()), acceptShortfall: false), profileID: id, metadata: metadata)
                                _ = try await profiles.handle(.reverseAllocation(paymentID: payment, kind: .refund, reason: "returned"), profileID: id, metadata: metadata)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let deadline = ContinuousClock.now + .seconds(180)
            while receiver.received.count < 300, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            kill(servers[0].process.processIdentifier, SIGKILL)
            servers[0].process.waitUntilExit()
            try await burst.value

            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            var expected: Set<String> = []
            var cursor = LogCursor.start
            while true {
                let events = try await runtime.store.readAll(after: cursor, limit: 1_000)
                guard let last = events.last else { break }
                expected.formUnion(events.filter { $0.type == ListingVisibilityChanged.typeName }.map { $0.id.uuidString.lowercased() })
                cursor = last.cursor
            }
            #expect(expected.count == 1_000)
            // The killed instance's claims are released when their lease (60 s) runs out.
            while Set(receiver.received.map(\.webhookID)).count < expected.count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            let ids = receiver.received.map(\.webhookID)
            #expect(Set(ids) == expected, "every change arrives")
            #expect(receiver.received.allSatisfy { $0.verified })
            #expect(ids.count - Set(ids).count <= 16, "a repeat only for what the killed instance had claimed, with the same id")
            for server in servers.dropFirst() {
                #expect(try await server.terminate() == 0, "the others stop cleanly on SIGTERM")
            }
        } catch {
            for server in servers where server.process.isRunning { _ = try? await server.terminate() }
            await runtime.close()
            await receiver.stop()
            throw error
        }
        await runtime.close()
        await receiver.stop()
    }
}
