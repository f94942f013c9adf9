import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerCore
import LedgerService
import NIOCore
import NIOFoundationCompat
import TestSupport
import Testing

/// "A line of 0.00 (a notice of the bank's) moves no money: it is kept as read and counted (`zeroAmount`), and is
/// neither a payment nor in the books."
@Suite("Lines of 0.00")
struct ZeroAmountLineTests {
    @Test(arguments: Backend.allCases)
    func aLineOfNothingIsKeptAsReadAndAsksStaffNothing(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            let profile = try ProfileID("z-1")
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "Zoe", contactEmail: "z@example.org"), profileID: profile, metadata: .init(actor: "test"))
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "Z-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: "2026-03-02", bankReference: "Z-R1", transactions: [T(amount: "0.00", payerName: "Bank", structuredReference: CreditorReference.forProfile(profile).electronic)]),
                .init(credit: false, date: "2026-03-02", bankReference: "Z-R2", transactions: [T(amount: "0.00", text: "fee waived")]),
                .init(date: "2026-03-02", bankReference: "Z-R3", transactions: [T(amount: "30.00", payerName: "Bo", text: "gift")]),
                .init(credit: false, date: "2026-03-02", bankReference: "Z-R4", transactions: [T(amount: "0.00", endToEndID: "E2E-Z", payerName: "Dan", returnReason: "MD06")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["zeroAmount"] as? Int == 3 && imported.json["queued"] as? Int == 1, "only the 30.00 waits for staff: \(imported.text)")
            #expect(imported.json["matched"] as? Int == 0 && imported.json["debits"] as? Int == 0 && imported.json["unmatchedReturns"] as? Int == 0, "a return of 0.00 is not one for staff either: \(imported.text)")
            try await runtime.catchUpStaffViews()
            let queue = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(buffer: queue.body)) as? [[String: Any]])
            #expect(entries.compactMap { $0["reasonCode"] as? String } == ["missing-profile-reference"], "\(queue.text)")
            let journal = try await client.execute(uri: "/api/v1/books/journal?format=csv", method: .get, headers: staff)
            #expect(journal.status == .ok && !journal.text.contains("fee waived") && journal.text.contains("30.00"), "\(journal.text)")
            let again = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(again.json["alreadyImported"] as? Int == 4 && again.json["zeroAmount"] as? Int == 0, "\(again.text)")
        }
    }

    /// The same from a CSV file: the line of 0.00 is counted, not the whole file refused.
    @Test(arguments: Backend.allCases)
    func aLineOfNothingInACSVFileIsCountedToo(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            let csv = "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n2026-03-02,0.00,EUR,Bank,,notice,ZC-1\n2026-03-02,30.00,EUR,Bo,,gift,ZC-2\n"
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: csv))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["zeroAmount"] as? Int == 1 && imported.json["queued"] as? Int == 1, "\(imported.text)")
        }
    }
}
