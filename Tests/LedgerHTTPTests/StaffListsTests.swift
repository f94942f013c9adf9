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

/// What staff look things up with: profiles by name, e-mail, id or RF reference; payments by method, purpose,
/// month and state.
@Suite("Staff lists")
struct StaffListsTests {
    @Test(arguments: Backend.allCases)
    func profilesAreFoundByAnythingStaffHaveAndPaymentsByEveryFilter(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let staffKey = session.key
            let staff = session.headers
            let post = session.post
            func list(_ uri: String) async throws -> [[String: Any]] {
                let response = try await client.execute(uri: uri, method: .get, headers: staff)
                #expect(response.status == .ok, "\(uri): \(response.text)")
                return try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [[String: Any]] ?? []
            }
            for (id, name, email) in [("ada-1", "Ada Lovelace", "ada@example.org"), ("ben-2", "Ben Okafor", "b.okafor@mediate.example"), ("cy-3", "Cy 100%", "cy@example.org")] {
                #expect(try await post("/api/v1/profiles", ["profileId": id, "kind": "mediator", "displayName": name, "contactEmail": email]).status == .created)
            }
            func ids(_ hits: [[String: Any]]) -> [String] { hits.compactMap { $0["profileId"] as? String } }
            #expect(ids(try await list("/api/v1/profiles?search=lovelace")) == ["ada-1"])
            #expect(ids(try await list("/api/v1/profiles?search=OKAFOR%40mediate")) == ["ben-2"])
            #expect(ids(try await list("/api/v1/profiles?search=cy-3")).first == "cy-3")
            #expect(ids(try await list("/api/v1/profiles?search=100%25")) == ["cy-3"])
            // % and _ in a search are characters, not wildcards: as wildcards these would match "cy 100%" and "ada-1".
            #expect(try await list("/api/v1/profiles?search=y%201%250").isEmpty)
            #expect(try await list("/api/v1/profiles?search=a_1").isEmpty)
            #expect(ids(try await list("/api/v1/profiles?search=example.org")).sorted() == ["ada-1", "cy-3"])
            let spaced = CreditorReference.forProfile(try ProfileID("ben-2")).printed.lowercased().replacingOccurrences(of: " ", with: "%20")
            let byReference = try await list("/api/v1/profiles?search=\(spaced)")
            #expect(ids(byReference) == ["ben-2"] && byReference.first?["matched"] as? String == "reference")
            #expect(ids(try await list("/api/v1/profiles?search=\(CreditorReference.forDonation(by: try ProfileID("ada-1")).electronic)")) == ["ada-1"])
            #expect(try await list("/api/v1/profiles?search=nobody").isEmpty)
            #expect(try await client.execute(uri: "/api/v1/profiles", method: .get, headers: staff).status == .badRequest)
            // As the API description has it: 1 to 200 characters, not all white space (a no-break space is
            // white space; 200 two-byte characters are 200 characters).
            for blank in ["", "%20%09", "%C2%A0", "%E2%80%A8"] {
                let refused = try await client.execute(uri: "/api/v1/profiles?search=\(blank)", method: .get, headers: staff)
                #expect(refused.status == .badRequest, "'\(blank)': \(refused.text)")
            }
            #expect(try await list("/api/v1/profiles?search=" + String(repeating: "%C3%A9", count: 200)).isEmpty)
            let tooLong = try await client.execute(uri: "/api/v1/profiles?search=" + String(repeating: "%C3%A9", count: 201), method: .get, headers: staff)
            #expect(tooLong.status == .badRequest, "\(tooLong.text)")
            // A control character in a query is the caller's mistake (400), not a database failure: PostgreSQL
            // cannot hold a NUL in text at all.
            for query in ["search=%230%00x", "search=a%0Ab", "search=%C2%85", "search=ok&status=%00"] {
                let refused = try await client.execute(uri: "/api/v1/profiles?\(query)", method: .get, headers: staff)
                #expect(refused.status == .badRequest && refused.text.contains("control character"), "\(query): \(refused.text)")
            }

            // Payments: two offline (a contribution by certified ada-1, a donation) and a held transfer.
            #expect(try await post("/api/v1/profiles/ada-1/certification", ["action": "grant", "reason": "assessed"]).status == .ok)
            #expect(try await post("/api/v1/profiles/ada-1/offline-payments", ["amount": "125.00", "date": "2026-03-02", "purpose": "listing"]).status == .created)
            #expect(try await post("/api/v1/profiles/ben-2/offline-payments", ["amount": "30.00", "date": "2026-04-10", "purpose": "donation"]).status == .created)
            let xml = CamtStatementBuilder(statements: [.init(id: "SL-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: "2026-04-11", bankReference: "SL-1", transactions: [.init(amount: "99.00", payerName: "Someone", text: "membership")]),
            ])]).xml
            #expect(try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: xml)).status == .created)
            func paymentIDs(_ query: String) async throws -> [String] { try await list("/api/v1/payments?\(query)").compactMap { $0["paymentId"] as? String } }
            #expect(try await paymentIDs("").count == 3)
            #expect(try await paymentIDs("method=offline").count == 2)
            let donation = try await list("/api/v1/payments?purpose=donation")
            #expect(donation.count == 1 && donation.first?["amount"] as? String == "30.00" && donation.first?["profileId"] as? String == "ben-2")
            #expect(try await list("/api/v1/payments?state=held").first?["method"] as? String == "bank")
            #expect(try await paymentIDs("month=2026-04").count == 2)
            #expect(try await paymentIDs("month=2026-04&method=bank&state=held").count == 1)
            #expect(try await paymentIDs("month=2026-05").isEmpty)
            let csv = try await client.execute(uri: "/api/v1/payments?format=csv&month=2026-03", method: .get, headers: staff)
            #expect(csv.text.hasPrefix("payment,method,purpose,state,amount,currency,profile,date\r\n"))
            #expect(csv.text.contains(",offline,listing,counted,125.00,EUR,ada-1,2026-03-02\r\n"), "\(csv.text)")
            // Listings by the calendar month their paid time ends in.
            let expiring = try await list("/api/v1/listings?expiringInMonth=2027-03")
            #expect(expiring.map { $0["profileId"] as? String } == ["ada-1"], "paid 2026-03-02 for a year: \(expiring)")
            #expect(try await list("/api/v1/listings?expiringInMonth=2027-04").isEmpty)
            #expect(try await client.execute(uri: "/api/v1/listings?expiringInMonth=2027-3", method: .get, headers: staff).status == .badRequest)

            // Profiles listed at the end of each month, as the directory was told (everything here was recorded this month).
            let now = runtime.profiles.policy.calendar.date(at: runtime.now())
            let thisMonth = String(now.description.prefix(7))
            let lastMonth = String(now.addingMonths(-1).description.prefix(7))
            let listed = try await list("/api/v1/reports/listed?from=\(lastMonth)&to=\(thisMonth)")
            #expect(listed.map { "\($0["month"] ?? "") \($0["listed"] ?? "")" } == ["\(lastMonth) 0", "\(thisMonth) 1"], "\(listed)")
            #expect(try await list("/api/v1/reports/listed").count == 24)
            let nextMonth = String(now.addingMonths(1).description.prefix(7))
            #expect(try await client.execute(uri: "/api/v1/reports/listed?to=\(nextMonth)", method: .get, headers: staff).status == .unprocessableContent)

            for bad in ["method=cash", "state=lost", "month=2026-13", "month=26-01", "format=xml"] {
                #expect(try await client.execute(uri: "/api/v1/payments?\(bad)", method: .get, headers: staff).status == .badRequest, "\(bad)")
            }
        }
    }
}
