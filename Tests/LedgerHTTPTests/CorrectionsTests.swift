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

/// Staff undo their own mistakes with corrections, each a new event with a reason and the person as actor:
/// through the real server, with the listings, the exception queue, the payment's view and the books following.
@Suite("Corrections")
struct CorrectionsTests {
    /// One transfer of 250.00 that paid for two mediators, booked to one: staff move 125.00 of it to the other.
    /// Both are listed for a year; moving the part back restores the first; the books' income does not move.
    @Test(arguments: Backend.allCases)
    func partOfAPaymentMovesToAnotherProfile(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let post = session.post
            let get = session.get
            func listing(_ id: String) async throws -> [String: Any] { try await get("/api/v1/profiles/\(id)/listing").json }
            for id in ["p-1", "p-2"] {
                #expect(try await post("/api/v1/profiles", ["profileId": id, "kind": "mediator", "displayName": id, "contactEmail": "\(id)@example.org"]).status == .created)
                #expect(try await post("/api/v1/profiles/\(id)/certification", ["action": "grant", "reason": "assessed"]).status == .ok)
            }
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let paid = try await post("/api/v1/profiles/p-1/offline-payments", ["amount": "250.00", "date": today.description, "purpose": "listing"])
            let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init))
            let twoYears = try #require(try await listing("p-1")["paidThrough"] as? String)

            // Refused: more than p-1's share, nothing, or not a number; nothing is written.
            for amount in ["250.01", "0.00", "abc"] {
                let refused = try await post("/api/v1/payments/\(paymentID)/reassign", ["fromProfileId": "p-1", "toProfileId": "p-2", "amount": amount, "reason": "split"])
                #expect([400, 409, 422].contains(refused.status.code), "\(amount): \(refused.text)")
            }
            #expect(try await listing("p-2")["visible"] as? Bool == false)

            let moved = try await post("/api/v1/payments/\(paymentID)/reassign", ["fromProfileId": "p-1", "toProfileId": "p-2", "amount": "125.00", "reason": "one transfer for both"])
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(moved.json["appended"] as? [String] == ["PaymentReassigned", "AllocationReversed", "ContributionAllocated", "ListingVisibilityChanged", "ContributionAllocated", "ListingVisibilityChanged"], "\(moved.text)")
            let oneYear = try #require(try await listing("p-1")["paidThrough"] as? String)
            #expect(oneYear < twoYears && oneYear == today.addingMonths(12).addingDays(-1).description, "\(oneYear)")
            #expect(try await listing("p-2")["paidThrough"] as? String == oneYear)
            let view = try await get("/api/v1/payments/\(paymentID)").json
            let allocations = (view["allocations"] as? [[String: Any]] ?? []).map { "\($0["profileId"] ?? "") \($0["amount"] ?? "") \($0["state"] ?? "")" }
            #expect(allocations == ["p-1 125.00 active", "p-2 125.00 active"], "\(view)")
            #expect(try await get("/api/v1/profiles/p-1/timeline").text.contains("125.00 EUR of it moved to p-2 by staff: one transfer for both"))

            // The part goes back: p-1 has both years again, p-2 nothing.
            let back = try await post("/api/v1/payments/\(paymentID)/reassign", ["fromProfileId": "p-2", "toProfileId": "p-1", "reason": "both were hers"])
            #expect(back.status == .ok, "\(back.text)")
            #expect(try await listing("p-1")["paidThrough"] as? String == twoYears)
            #expect(try await listing("p-2")["visible"] as? Bool == false)

            // The books: the money is still 250.00 of contributions.
            let trial = try await get("/api/v1/books/trial-balance").json
            let contributions = ((trial["accounts"] as? [[String: Any]]) ?? []).first { $0["account"] as? String == "Income:ListingContributions" }
            #expect((contributions?["minorUnits"] as? NSNumber)?.int64Value == -25_000, "\(trial)")
        }
    }

    /// A short transfer staff accepted as a full year, reopened and decided the other way, is what it is now decided
    /// to be: allocated as credit, it does not bring the accepted shortfall back; and the other way round. Moving
    /// part of an accepted short payment to another profile ends the acceptance: each keeps only what it paid.
    @Test(arguments: Backend.allCases)
    func anAcceptedShortfallFollowsTheLatestDecision(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let post = session.post
            func listing(_ id: String) async throws -> (paidThrough: String?, credit: String?) {
                let json = try await session.get("/api/v1/profiles/\(id)/listing").json
                return (json["paidThrough"] as? String, json["credit"] as? String)
            }
            for id in ["s-1", "s-2"] { try await session.certifiedProfile(id) }
            let today = runtime.today.description
            let yearEnd = runtime.today.addingMonths(12).addingDays(-1).description
            func held(_ statement: String, _ amount: String) async throws -> String {
                let xml = CamtStatementBuilder(statements: [.init(id: statement, iban: "NL91ABNA0417164300", entries: [
                    .init(date: today, bankReference: statement, transactions: [.init(amount: amount, payerName: "Someone", text: "membership")]),
                ])]).xml
                let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(session.key), body: ByteBuffer(string: xml))
                #expect(imported.status == .created, "\(imported.text)")
                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
                let queue = try await session.get("/api/v1/reconciliation/exceptions").text
                let list = try JSONSerialization.jsonObject(with: Data(queue.utf8)) as? [[String: Any]] ?? []
                return try #require(list.first { $0["amount"] as? String == amount }?["paymentId"] as? String, "\(queue)")
            }
            func resolve(_ payment: String, _ resolution: String, _ profile: String) async throws {
                let answer = try await post("/api/v1/reconciliation/exceptions/\(payment)/resolve", ["resolution": resolution, "profileId": profile, "reason": "staff"])
                #expect(answer.status == .ok, "\(answer.text)")
            }
            func reopen(_ payment: String) async throws {
                #expect(try await post("/api/v1/reconciliation/exceptions/\(payment)/reopen", ["reason": "decided again"]).status == .ok)
            }

            // Accepted short, reopened, allocated: 100.00 of credit, no year.
            let short = try await held("SHORT-1", "100.00")
            try await resolve(short, "accept-short", "s-1")
            #expect(try await listing("s-1") == (yearEnd, "0.00"))
            try await reopen(short)
            try await resolve(short, "allocate", "s-1")
            #expect(try await listing("s-1") == (nil, "100.00"), "the shortfall is no longer accepted")
            // And back: reopened and accepted short again, the year comes back.
            try await reopen(short)
            try await resolve(short, "accept-short", "s-1")
            #expect(try await listing("s-1") == (yearEnd, "0.00"))

            // Part of an accepted short payment moved: s-1 keeps 50.00 as credit, s-2 gets 50.00 as credit.
            let moved = try await post("/api/v1/payments/\(short)/reassign", ["fromProfileId": "s-1", "toProfileId": "s-2", "amount": "50.00", "reason": "half was hers"])
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(try await listing("s-1") == (nil, "50.00"))
            #expect(try await listing("s-2") == (nil, "50.00"))
            // Moved back, the acceptance does not come back with it: 100.00 of credit.
            let back = try await post("/api/v1/payments/\(short)/reassign", ["fromProfileId": "s-2", "toProfileId": "s-1", "reason": "it was all hers"])
            #expect(back.status == .ok, "\(back.text)")
            #expect(try await listing("s-1") == (nil, "100.00"))
            #expect(try await listing("s-2") == (nil, "0.00"))
        }
    }

    @Test(arguments: Backend.allCases)
    func voidReassignAndReopenAreFactsAndEverythingFollows(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let staffKey = session.key
            let post = session.post
            let get = session.get
            func visible(_ id: String) async throws -> Bool? { try await get("/api/v1/profiles/\(id)/listing").json["visible"] as? Bool }
            func appended(_ response: TestResponse) -> [String] { response.json["appended"] as? [String] ?? [] }
            for id in ["c-1", "c-2"] {
                #expect(try await post("/api/v1/profiles", ["profileId": id, "kind": "mediator", "displayName": id, "contactEmail": "\(id)@example.org"]).status == .created)
                #expect(try await post("/api/v1/profiles/\(id)/certification", ["action": "grant", "reason": "assessed"]).status == .ok)
            }
            let today = runtime.profiles.policy.calendar.date(at: runtime.now()).description

            // An offline payment, then the same again: refused as a likely duplicate naming the first, unless confirmed.
            let first = try await post("/api/v1/profiles/c-1/offline-payments", ["amount": "125.00", "date": today, "purpose": "listing"])
            #expect(first.status == .created, "\(first.text)")
            let firstID = try #require(first.headers[.location]?.split(separator: "/").last.map(String.init))
            let again = try await post("/api/v1/profiles/c-1/offline-payments", ["amount": "125.00", "date": today, "purpose": "listing"])
            #expect(again.status == .conflict, "\(again.text)")
            #expect(again.json["type"] as? String == "https://listing-ledger.example/problems/likely-duplicate")
            #expect((again.json["detail"] as? String)?.contains(firstID) == true, "\(again.text)")
            let confirmed = try await post("/api/v1/profiles/c-1/offline-payments", ["amount": "125.00", "date": today, "purpose": "listing", "confirmDuplicate": true])
            #expect(confirmed.status == .created, "\(confirmed.text)")
            let secondID = try #require(confirmed.headers[.location]?.split(separator: "/").last.map(String.init))

            // Void the second: a correction, which takes its allocation back; voiding again changes nothing.
            let voided = try await post("/api/v1/payments/\(secondID)/void", ["reason": "entered twice"])
            #expect(voided.status == .ok, "\(voided.text)")
            #expect(appended(voided).prefix(2) == ["PaymentVoided", "AllocationReversed"], "then the listing's paid-through date moves back a year")
            #expect(appended(try await post("/api/v1/payments/\(secondID)/void", ["reason": "entered twice"])).isEmpty)
            let voidedView = try await get("/api/v1/payments/\(secondID)").json
            #expect((voidedView["voided"] as? [String: Any])?["by"] as? String == "staff:Anna")
            #expect((voidedView["allocations"] as? [[String: Any]])?.first?["reversedAs"] as? String == "correction")
            #expect(try await visible("c-1") == true, "the first payment still counts")

            // Reassign the first from c-1 to c-2, and back: each move takes back one allocation and gives (or
            // reinstates) the other.
            let moved = try await post("/api/v1/payments/\(firstID)/reassign", ["fromProfileId": "c-1", "toProfileId": "c-2", "reason": "paid for her colleague"])
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(appended(moved).first == "PaymentReassigned", "\(moved.text)")
            #expect(Set(appended(moved)).isSuperset(of: ["AllocationReversed", "ContributionAllocated"]), "\(moved.text)")
            #expect(try await visible("c-1") == false)
            #expect(try await visible("c-2") == true)
            let timeline = try await get("/api/v1/profiles/c-1/timeline").text
            #expect(timeline.contains("paid for her colleague"), "\(timeline)")
            let movedView = try await get("/api/v1/payments/\(firstID)").json
            let allocations = (movedView["allocations"] as? [[String: Any]] ?? []).map { "\($0["profileId"] ?? "") \($0["state"] ?? "")" }
            #expect(allocations == ["c-1 reversed", "c-2 active"], "\(movedView)")
            #expect((movedView["history"] as? [[String: Any]])?.contains { $0["type"] as? String == "PaymentReassigned" && $0["by"] as? String == "staff:Anna" } == true)
            let back = try await post("/api/v1/payments/\(firstID)/reassign", ["fromProfileId": "c-2", "toProfileId": "c-1", "reason": "it was hers after all"])
            #expect(back.status == .ok, "\(back.text)")
            #expect(try await visible("c-1") == true)
            #expect(try await visible("c-2") == false)

            // Refusals: moving from a profile it does not pay for, voiding a bank payment, correcting without a reason.
            #expect(try await post("/api/v1/payments/\(firstID)/reassign", ["fromProfileId": "c-2", "toProfileId": "c-1", "reason": "again"]).status == .conflict)
            #expect(try await post("/api/v1/payments/\(firstID)/void", ["reason": " "]).status == .unprocessableContent)
            #expect(try await post("/api/v1/payments/offline-nothing/void", ["reason": "typo"]).status == .notFound)

            // Reopen: a transfer without a reference, allocated to c-2 by mistake, goes back to the queue.
            let xml = CamtStatementBuilder(statements: [.init(id: "COR-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: today, bankReference: "COR-1", transactions: [.init(amount: "125.00", payerName: "Someone", text: "membership")]),
            ])]).xml
            #expect(try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: xml)).status == .created)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
            let queue = try JSONSerialization.jsonObject(with: Data((try await get("/api/v1/reconciliation/exceptions")).text.utf8)) as? [[String: Any]] ?? []
            let held = try #require(queue.first?["paymentId"] as? String)
            let bankVoid = try await post("/api/v1/payments/\(held)/void", ["reason": "typo"])
            #expect(bankVoid.status == .conflict && (bankVoid.json["detail"] as? String)?.contains("refund") == true, "\(bankVoid.text)")
            #expect(try await post("/api/v1/reconciliation/exceptions/\(held)/reopen", ["reason": "nothing to reopen"]).status == .conflict)
            #expect(try await post("/api/v1/reconciliation/exceptions/\(held)/resolve", ["resolution": "allocate", "profileId": "c-2", "reason": "guess"]).status == .ok)
            #expect(try await visible("c-2") == true)
            let reopened = try await post("/api/v1/reconciliation/exceptions/\(held)/reopen", ["reason": "the guess was wrong"])
            #expect(reopened.status == .ok, "\(reopened.text)")
            #expect(appended(reopened).prefix(2) == ["PaymentResolutionReopened", "AllocationReversed"], "\(reopened.text)")
            #expect(try await visible("c-2") == false)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
            let queueAgain = try await get("/api/v1/reconciliation/exceptions").text
            #expect(queueAgain.contains(held), "a reopened payment waits in the queue again: \(queueAgain)")
            #expect(try await get("/api/v1/payments/\(held)").json["waitingForStaff"] as? Bool == true)

            // The books: the voided payment is reversed, not refunded; the reopened one is held again.
            let trial = try await get("/api/v1/books/trial-balance?date=\(today)")
            let balances = Dictionary(((trial.json["accounts"] as? [[String: Any]]) ?? []).map { ($0["account"] as? String ?? "", $0["balance"] as? String ?? "") }) { a, _ in a }
            #expect(balances["Assets:Offline"] == "125.00", "two recorded, one voided: \(trial.text)")
            #expect(balances["Income:ListingContributions"] == "-125.00", "\(trial.text)")
            #expect(balances["Liabilities:UnidentifiedReceipts"] == "-125.00", "\(trial.text)")
            #expect(balances["Income:Refunds"] == nil, "a void is not a refund: \(trial.text)")
            let journal = try await get("/api/v1/books/journal?format=beancount").text
            #expect(journal.contains("Voided by staff:Anna: entered twice"), "\(journal)")
            #expect(try BooksTests.beanCheck(journal).status == 0)

            // Every read model, rebuilt from the log, is what the live service wrote.
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            for runner in runtime.projectionRunners { try await runner.catchUp() }
            let live = try await RebuildEqualsLiveTests.dump(runtime.store)
            try await ProjectionRunner.rebuild(runtime.projectionRunners.map(\.projection), store: runtime.store)
            let rebuilt = try await RebuildEqualsLiveTests.dump(runtime.store)
            for (table, _) in RebuildEqualsLiveTests.tables {
                #expect(rebuilt[table] == live[table], "\(table) differs after a rebuild")
            }
        }
    }
}
