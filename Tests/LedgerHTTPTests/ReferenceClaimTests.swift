import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import NIOCore
import TestSupport
import Testing

/// Who owns a creditor reference is decided on the write side: registration claims the reference in its own
/// stream, in the same append, and a bank import reads the claim.
@Suite("Creditor reference claims")
struct ReferenceClaimTests {
    static func register(_ client: any TestClientProtocol, _ staff: HTTPFields, _ id: String) async throws -> TestResponse {
        try await client.execute(uri: "/api/v1/profiles", method: .post, headers: staff, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: [
            "profileId": id, "kind": "mediator", "displayName": id, "contactEmail": "\(id)@example.org",
        ])))
    }

    @Test(arguments: Backend.allCases)
    func registrationClaimsTheReferenceAndATakenReferenceIsRefusedWritingNothing(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            var staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            staff[.contentType] = "application/json"
            #expect(try await Self.register(client, staff, "claim-1").status == .created)
            let claims = ReferenceClaims(store: runtime.store)
            #expect(try await claims.owner(of: CreditorReference.forProfile(try ProfileID("claim-1"))) == (try ProfileID("claim-1")))

            // A reference held by another profile (as a clash of two ids' references would leave it).
            let taken = CreditorReference.forProfile(try ProfileID("claim-2"))
            let claim = CreditorReferenceClaimed(reference: taken, profileID: try ProfileID("claim-1"), occurredAt: Date())
            _ = try await runtime.store.append(
                [NewEvent(id: UUID(), type: CreditorReferenceClaimed.typeName, data: try claim.encodedData())],
                to: CreditorReferenceClaimed.streamName(taken), expecting: .noStream
            )
            let refused = try await Self.register(client, staff, "claim-2")
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(refused.text.contains("already held by profile 'claim-1'"), "\(refused.text)")
            #expect(try await runtime.store.readStream("profile-claim-2", fromVersion: 1, limit: 10).isEmpty)
        }
    }

    /// A ledger whose profiles were registered before registration claimed references gets their claims when
    /// it is next opened, and its bank transfers are matched by them.
    @Test(arguments: Backend.allCases)
    func aLedgerFromBeforeClaimsIsBackfilledAndItsTransfersMatch(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let store = try await TestDatabase.open(url)
        _ = try await store.migrateLedger()
        let id = try ProfileID("old-1")
        // As an earlier version wrote them: a registration and a certification, and no claim.
        for (type, json) in [
            ("ProfileRegistered", #"{"contactEmail":"old@example.org","displayName":"Old","kind":"mediator","occurredAt":"2026-01-15T10:00:00.000Z","profileID":"old-1"}"#),
            ("CertificationChanged", #"{"occurredAt":"2026-01-15T10:00:00.000Z","reason":"assessed","state":"certified"}"#),
        ] {
            _ = try await store.append([NewEvent(id: UUID(), type: type, data: Data(json.utf8))], to: id.streamName, expecting: .any)
        }
        await store.close()

        let runtime = try await TestRuntime.open(url)
        do {
            #expect(try await ReferenceClaims(store: runtime.store).owner(of: CreditorReference.forProfile(id)) == id)
            let statement = try CamtStatementBuilder(statements: [.init(id: "OLD-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: runtime.profiles.policy.calendar.date(at: Date()).addingDays(-1).description, bankReference: "OB-1", transactions: [
                    .init(amount: "125.00", payerName: "Old", structuredReference: CreditorReference.forProfile(id).electronic),
                ]),
            ])]).write()
            let summary = try await runtime.bankImport.importFile(statement, metadata: CommandAttribution.metadata(actor: "test", requestID: nil))
            #expect(summary.matched == 1)
            #expect(summary.queued == 0)
        } catch {
            await runtime.close()
            throw error
        }
        let checked = try await runtime.store.readStream("reference-claims-checked", fromVersion: 1, limit: 10)
        #expect(checked.map(\.type) == ["ReferenceClaimsChecked"], "the check recorded how far it got")
        try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
        let head = try await runtime.store.headCursor()
        await runtime.close()
        // Opened again, nothing is claimed twice and no progress is recorded for the few events since.
        let reopened = try await TestRuntime.open(url)
        try await (reopened.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
        let headAfter = try await reopened.store.headCursor()
        await reopened.close()
        #expect(headAfter == head)
    }
}
