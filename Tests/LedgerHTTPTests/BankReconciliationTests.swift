import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import NIOCore
import NIOFoundationCompat
import TestSupport
import Testing

private let ourIBAN = "NL91ABNA0417164300"
private let adaIBAN = "DE89370400440532013000"
private let benIBAN = "GB82WEST12345698765432"

private func reference(_ profile: String) -> String {
    CreditorReference.forProfile(try! ProfileID(profile)).electronic
}

/// Registers and certifies each profile through the service, as staff would before the statement arrives.
private func certifiedProfiles(_ runtime: LedgerRuntime, _ ids: [String]) async throws {
    for id in ids {
        let profile = try ProfileID(id)
        _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id, contactEmail: "\(id)@example.org"), profileID: profile, metadata: .init(actor: "test"))
        _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: profile, metadata: .init(actor: "test"))
    }
}

/// A statement of the body's own with a dozen realistic cases.
private func weeklyStatement() -> CamtStatementBuilder {
    let wrongCheckDigits = "RF00" + reference("a-3").dropFirst(4)
    let spacedLowerCase = CreditorReference.forProfile(try! ProfileID("a-2")).printed.lowercased()
    typealias T = CamtStatementBuilder.Transaction
    return CamtStatementBuilder(statements: [
        .init(id: "2026-10", iban: ourIBAN, entries: [
            .init(date: "2026-03-02", bankReference: "BR-1", transactions: [T(amount: "125.00", endToEndID: "E2E-ADA", payerName: "Ada", payerIBAN: adaIBAN, structuredReference: reference("a-1"))]),
            .init(date: "2026-03-02", bankReference: "BR-2", transactions: [T(amount: "125.00", payerName: "Bo", text: "contribution \(spacedLowerCase)\nthanks")]),
            .init(date: "2026-03-02", bankReference: "BR-3", transactions: [T(amount: "125.00", payerName: "Cy", structuredReference: wrongCheckDigits)]),
            .init(date: "2026-03-03", bankReference: "BR-4", transactions: [T(amount: "250.00", payerName: "Ben", payerIBAN: benIBAN, structuredReference: reference("a-4"))]),
            .init(date: "2026-03-03", bankReference: "BR-5", transactions: [T(amount: "110.00", payerName: "Eli", structuredReference: reference("a-5"))]),
            .init(date: "2026-03-04", bankReference: "BR-6", transactions: [
                T(amount: "125.00", payerName: "Firm", structuredReference: reference("b-1")),
                T(amount: "125.00", payerName: "Firm", structuredReference: reference("b-2")),
                T(amount: "125.00", payerName: "Firm", structuredReference: reference("b-3")),
            ]),
            .init(credit: false, date: "2026-03-05", bankReference: "BR-7", transactions: [T(amount: "125.00", endToEndID: "E2E-ADA", payerName: "Ada", payerIBAN: adaIBAN, returnReason: "AC04")]),
            .init(date: "2026-03-05", bankReference: nil, transactions: [T(amount: "125.00", payerName: "Twin", text: "membership")]),
            .init(date: "2026-03-05", bankReference: nil, transactions: [T(amount: "125.00", payerName: "Twin", text: "membership")]),
            .init(credit: false, date: "2026-03-05", bankReference: "BR-8", transactions: [T(amount: "4.50", text: "account fee")]),
        ]),
        .init(id: "2026-10-USD", iban: "NL02ABNA0123456789", currency: "USD", entries: [
            .init(date: "2026-03-05", bankReference: "BR-9", transactions: [T(amount: "125.00", payerName: "Gil", structuredReference: reference("a-6"))]),
        ]),
    ])
}

@Suite("Bank transfers end to end")
struct BankReconciliationTests {
    @Test(arguments: Backend.allCases)
    func aWeeklyStatementLandsEachCaseInTheRightPlace(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: "2026-03-06")!).addingTimeInterval(10 * 3600) })
        let staffKey = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
        let websiteKey = try await runtime.apiKeys.create(name: "Website", role: .website).key
        let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        do {
            try await application.test(.live) { client in
                var staff = bearer(staffKey)
                staff[.contentType] = "application/json"
                try await certifiedProfiles(runtime, ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6", "b-1", "b-2", "b-3"])

                // Payment instructions carry the reference the statement's payers used.
                let instructions = try await client.execute(uri: "/api/v1/profiles/a-1/payment-instructions", method: .get, headers: bearer(websiteKey))
                #expect(instructions.status == .ok)
                #expect(instructions.json["reference"] as? String == reference("a-1"))
                #expect(instructions.json["amount"] as? String == "125.00")
                let payload = try #require(instructions.json["epcQRPayload"] as? String)
                #expect(payload.hasPrefix("BCD\n002\n1\nSCT\n"))
                #expect(payload.contains("\n\(ourIBAN)\nEUR125.00\n\n\(reference("a-1"))"))

                let file = try weeklyStatement().write()
                let body = ByteBuffer(data: try Data(contentsOf: file))
                let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: body)
                #expect(imported.status == .created, "\(imported.text)")
                #expect(imported.json["lines"] as? Int == 13)
                #expect(imported.json["matched"] as? Int == 6, "a-1, a-2, a-4, and the batch of three")
                #expect(imported.json["queued"] as? Int == 5, "wrong check digit, short, USD, and the two identical lines")
                #expect(imported.json["returns"] as? Int == 1)
                #expect(imported.json["debits"] as? Int == 1)

                func listing(_ id: String) async throws -> [String: Any] {
                    try await client.execute(uri: "/api/v1/profiles/\(id)/listing", method: .get, headers: staff).json
                }
                for id in ["a-2", "b-1", "b-2", "b-3"] {
                    #expect(try await listing(id)["visible"] as? Bool == true, "\(id)")
                }
                #expect(try await listing("a-4")["paidThrough"] as? String == "2028-03-02", "250.00 buys two years")
                #expect(try await listing("a-1")["visible"] as? Bool == false, "the returned transfer reversed a-1's payment")
                for id in ["a-3", "a-5", "a-6"] {
                    #expect(try await listing(id)["visible"] as? Bool == false, "\(id)")
                }

                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
                let queue = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
                let entries = try #require(try JSONSerialization.jsonObject(with: Data(buffer: queue.body)) as? [[String: Any]])
                let reasons = entries.compactMap { $0["reasonCode"] as? String }.sorted()
                #expect(reasons == ["currency-not-accepted", "missing-profile-reference", "missing-profile-reference", "missing-profile-reference", "short-payment"])
                let short = try #require(entries.first { $0["reasonCode"] as? String == "short-payment" })
                #expect((short["reason"] as? String)?.contains("15.00 EUR short") == true)
                #expect((short["details"] as? String)?.contains("Eli") == true)

                // A re-import books nothing.
                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                let head = try await runtime.store.headCursor()
                let again = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: body)
                #expect(again.json["alreadyImported"] as? Int == 13)
                #expect(again.json["matched"] as? Int == 0)
                #expect(again.json["returns"] as? Int == 0, "a return is counted when it is booked, not again")
                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                #expect(try await runtime.store.headCursor() == head)

                // Staff resolve: accept the short payment as full; split a twin across two profiles.
                let shortID = try #require(short["paymentId"] as? String)
                let accepted = try await client.execute(uri: "/api/v1/reconciliation/exceptions/\(shortID)/resolve", method: .post, headers: staff,
                    body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["resolution": "accept-short", "profileId": "a-5", "reason": "bank charges"])))
                #expect(accepted.status == .ok, "\(accepted.text)")
                #expect(try await listing("a-5")["visible"] as? Bool == true)
                let twin = try #require(entries.first { ($0["details"] as? String)?.contains("Twin") == true }?["paymentId"] as? String)
                let split = try await client.execute(uri: "/api/v1/reconciliation/exceptions/\(twin)/resolve", method: .post, headers: staff,
                    body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: [
                        "resolution": "split", "reason": "paid for two colleagues",
                        "shares": [["profileId": "a-3", "amount": "62.50"], ["profileId": "a-6", "amount": "62.50"]],
                    ])))
                #expect(split.status == .ok, "\(split.text)")
                #expect((split.json["appended"] as? [String])?.filter { $0 == "ContributionAllocated" }.count == 2)
                let twice = try await client.execute(uri: "/api/v1/reconciliation/exceptions/\(twin)/resolve", method: .post, headers: staff,
                    body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["resolution": "donation", "reason": "again"])))
                #expect(twice.status == .conflict)
                let usd = try #require(entries.first { $0["currency"] as? String == "USD" }?["paymentId"] as? String)
                let usdAllocated = try await client.execute(uri: "/api/v1/reconciliation/exceptions/\(usd)/resolve", method: .post, headers: staff,
                    body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["resolution": "allocate", "profileId": "a-6", "reason": "try"])))
                #expect(usdAllocated.status == .unprocessableContent)

                // A later transfer without reference from Ben's account is suggested for a-4.
                let later = CamtStatementBuilder(statements: [.init(id: "2026-11", iban: ourIBAN, entries: [
                    .init(date: "2026-03-06", bankReference: "BR-20", transactions: [.init(amount: "125.00", payerName: "Ben", payerIBAN: benIBAN, text: "yearly fee")]),
                    // Dora pays for a-6 with its reference, then again without one, in the same file: the second
                    // is suggested for a-6 from the first.
                    .init(date: "2026-03-06", bankReference: "BR-21", transactions: [.init(
                        amount: "125.00", payerName: "Dora", payerIBAN: "GB29NWBK60161331926819", structuredReference: CreditorReference.forProfile(try ProfileID("a-6")).electronic
                    )]),
                    .init(date: "2026-03-06", bankReference: "BR-22", transactions: [.init(amount: "125.00", payerName: "Dora", payerIBAN: "GB29NWBK60161331926819", text: "second year")]),
                ])])
                var multipart = staff
                multipart[.contentType] = "multipart/form-data; boundary=XYZ"
                let form = "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"later.xml\"\r\nContent-Type: application/xml\r\n\r\n\(later.xml)\r\n--XYZ--\r\n"
                let laterImport = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: multipart, body: ByteBuffer(string: form))
                #expect(laterImport.status == .created, "\(laterImport.text)")
                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
                let queueAfter = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
                let open = try #require(try JSONSerialization.jsonObject(with: Data(buffer: queueAfter.body)) as? [[String: Any]])
                #expect(open.contains { ($0["details"] as? String)?.contains("yearly fee") == true && $0["suggestedProfileId"] as? String == "a-4" })
                #expect(open.contains { ($0["details"] as? String)?.contains("second year") == true && $0["suggestedProfileId"] as? String == "a-6" })
                #expect(!open.contains { $0["paymentId"] as? String == shortID }, "resolved entries leave the queue")

                // A boundary longer than RFC 2046's 70 characters is refused before the body is searched for it.
                var longBoundary = staff
                longBoundary[.contentType] = "multipart/form-data; boundary=\(String(repeating: "-", count: 71))"
                let refusedBoundary = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: longBoundary, body: ByteBuffer(string: form))
                #expect(refusedBoundary.status == .badRequest && refusedBoundary.text.contains("1 to 70 characters"), "\(refusedBoundary.text)")

                // Unsafe and truncated files are refused with a reason, and nothing is written.
                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                let before = try await runtime.store.headCursor()
                let xxe = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Document>&x;</Document>"
                let truncated = String(weeklyStatement().xml.prefix(1_500))
                for bad in [xxe, truncated] {
                    let refused = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: bad))
                    #expect(refused.status == .unprocessableContent)
                    #expect((refused.json["detail"] as? String)?.contains("nothing was imported") == true)
                }
                // The reason names the upload as such, not the temporary file it was kept in.
                let truncatedAnswer = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: truncated))
                let detail = truncatedAnswer.json["detail"] as? String ?? ""
                #expect(detail.hasPrefix("the uploaded statement is not well-formed XML") && !detail.contains("statement-"), "\(detail)")
                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                #expect(try await runtime.store.headCursor() == before)

                // The books at the end of the statement's last day: each account's bank balance is its closing
                // balance (EUR 1,000.00 + 1,360.00 in − 129.50 out; USD 1,000.00 + 125.00), and bean-check agrees.
                let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=2026-03-05", method: .get, headers: staff)
                let bank = ((trial.json["accounts"] as? [[String: Any]]) ?? []).filter { $0["account"] as? String == "Assets:Bank" }
                    .map { "\($0["balance"] ?? "") \($0["currency"] ?? "")" }
                #expect(bank == ["2230.50 EUR", "1125.00 USD"], "\(trial.text)")
                let exported = try await client.execute(uri: "/api/v1/books/journal?format=beancount&to=2026-03-05", method: .get, headers: staff)
                #expect(exported.text.contains("2026-03-06 balance Assets:Bank  2230.50 ~ 0.00 EUR"), "\(exported.text)")
                #expect(exported.text.contains("2026-03-06 balance Assets:Bank  1125.00 ~ 0.00 USD"), "\(exported.text)")
                let checked = try BooksTests.beanCheck(exported.text)
                #expect(checked.status == 0, "\(checked.output)\n\(exported.text)")
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// A donation by bank transfer has its own reference, so it is booked as a donation without staff: a
    /// profile's donation reference names the profile; the general one names nobody. Listing references work
    /// as before.
    @Test(arguments: Backend.allCases)
    func aDonationByItsOwnReferenceIsBookedWithoutStaff(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            let website = bearer(try await runtime.apiKeys.create(name: "Website", role: .website).key)
            _ = try await runtime.profiles.handle(
                .register(kind: .mediator, displayName: "Dora", contactEmail: "dora@example.org"), profileID: try ProfileID("d-1"), metadata: .init(actor: "test")
            )
            let listing = try await client.execute(uri: "/api/v1/profiles/d-1/payment-instructions", method: .get, headers: website)
            let donation = try await client.execute(uri: "/api/v1/profiles/d-1/payment-instructions?purpose=donation&amount=25.00", method: .get, headers: website)
            let general = try await client.execute(uri: "/api/v1/donation-instructions?amount=10.00", method: .get, headers: website)
            #expect(donation.status == .ok && general.status == .ok, "\(donation.text) \(general.text)")
            let donationReference = try #require(donation.json["reference"] as? String)
            let generalReference = try #require(general.json["reference"] as? String)
            #expect(donationReference != listing.json["reference"] as? String)
            #expect(donationReference == CreditorReference.forDonation(by: try ProfileID("d-1")).electronic)
            #expect(generalReference == CreditorReference.generalDonation.electronic && general.json["profileId"] == nil)
            #expect((general.json["epcQRPayload"] as? String)?.contains("EUR10.00") == true)
            #expect(try await client.execute(uri: "/api/v1/donation-instructions", method: .get, headers: website).status == .badRequest)

            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "DON-1", iban: ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "DN-1", transactions: [T(amount: "25.00", payerName: "Dora", structuredReference: donationReference)]),
                .init(date: "2026-03-02", bankReference: "DN-2", transactions: [
                    T(amount: "10.00", payerName: "A friend", text: "gift \(CreditorReference.generalDonation.printed.lowercased())"),
                ]),
                .init(date: "2026-03-02", bankReference: "DN-3", transactions: [T(amount: "125.00", payerName: "Dora", structuredReference: reference("d-1"))]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.json["matched"] as? Int == 3, "\(imported.text)")
            #expect(imported.json["queued"] as? Int == 0, "\(imported.text)")
            let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=2026-03-02", method: .get, headers: staff)
            let balances = Dictionary(((trial.json["accounts"] as? [[String: Any]]) ?? []).map { ($0["account"] as? String ?? "", $0["balance"] as? String ?? "") }) { a, _ in a }
            #expect(balances["Income:Donations"] == "-35.00", "\(trial.text)")
            #expect(balances["Income:ListingContributions"] == "-125.00", "\(trial.text)")
            #expect(balances["Liabilities:UnidentifiedReceipts"] == nil, "\(trial.text)")
        }
    }

    /// A reference typed with a short word after it ("… 2267 1 jaar") reads as a longer valid reference too;
    /// the transfer still pays for the profile whose reference it holds, instead of waiting for staff.
    @Test(arguments: Backend.allCases)
    func aReferenceFollowedByAShortWordStillNamesItsProfile(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            let id = try ProfileID("mediator-2")
            try await certifiedProfiles(runtime, [id.rawValue])
            let text = CreditorReference.forProfile(id).printed + " 1 jaar"
            #expect(CreditorReference.find(in: text).first?.electronic != reference("mediator-2"), "the text must read as a longer reference first")
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "SW-1", iban: ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "SW-1", transactions: [T(amount: "125.00", payerName: "Mia", text: text)]),
                .init(date: "2026-03-02", bankReference: "SW-2", transactions: [T(amount: "125.00", payerName: "Mia", structuredReference: reference("mediator-2"), text: "1 jaar")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["matched"] as? Int == 2 && imported.json["queued"] as? Int == 0, "\(imported.text)")
        }
    }

    /// A German MT940 line with business code 159 (`?00RETOURE`) is a transfer of ours that came back, a
    /// credit on the statement: it is listed for staff as a return, never booked as a payment to us, and it
    /// takes back no payment even when its end-to-end id is a payment's.
    @Test(arguments: Backend.allCases)
    func aReturnedTransferOfOursIsNeverAPayment(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["rp-1"])
            typealias T = CamtStatementBuilder.Transaction
            let paid = CamtStatementBuilder(statements: [.init(id: "RP-1", iban: ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "RP-1", transactions: [T(amount: "125.00", endToEndID: "E2E-7", payerName: "Rita", structuredReference: reference("rp-1"))]),
            ])]).xml
            let payment = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: paid))
            #expect(payment.json["matched"] as? Int == 1, "\(payment.text)")
            let mt940 = """
                :20:RT1
                :25:NL91ABNA0417164300
                :28C:1/1
                :60F:C260302EUR1000,00
                :61:2603030303C125,00NTRFNONREF//B-7
                :86:159?00RETOURE?20EREF+E2E-7?21SVWZ+Grund nicht spezifiziert?34914
                :62F:C260303EUR1125,00

                """
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: mt940))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["matched"] as? Int == 0 && imported.json["queued"] as? Int == 0, "\(imported.text)")
            #expect(imported.json["unmatchedReturns"] as? Int == 1, "\(imported.text)")
            let listed = try await runtime.books.unmatchedReturns(limit: 5)
            #expect(listed.map(\.amount) == [.euros(minorUnits: 12_500)] && listed.first?.words.contains("RETOURE") == true, "\(listed)")
            #expect(imported.json["returns"] as? Int == 0, "Rita's payment was taken back by money of ours coming back: \(imported.text)")
            let listing = try await client.execute(uri: "/api/v1/profiles/rp-1/listing", method: .get, headers: staff)
            #expect(listing.json["visible"] as? Bool == true, "\(listing.text)")
        }
    }

    /// A return takes back only the one payment that carries its end-to-end id, of its amount: payments sharing
    /// the id (two in one file, one in the file and one imported before, or one in the file and two before) or
    /// a payment of another amount are left as they are, and the return is counted for staff.
    @Test(arguments: Backend.allCases)
    func aReturnTakesBackOnlyTheOnePaymentOfItsIdAndAmount(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["tw-1", "tw-2", "tw-3", "tw-4"])
            typealias T = CamtStatementBuilder.Transaction
            let earlier = CamtStatementBuilder(statements: [.init(id: "TW-0", iban: ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "TW-0", transactions: [T(amount: "125.00", endToEndID: "SHARED-2", payerName: "Tia", structuredReference: reference("tw-3"))]),
                .init(date: "2026-03-02", bankReference: "TW-00", transactions: [T(amount: "125.00", endToEndID: "ALONE", payerName: "Tom", structuredReference: reference("tw-4"))]),
                .init(date: "2026-03-02", bankReference: "TW-01", transactions: [T(amount: "125.00", endToEndID: "SHARED-3", payerName: "Tia", structuredReference: reference("tw-3"))]),
                .init(date: "2026-03-02", bankReference: "TW-02", transactions: [T(amount: "125.00", endToEndID: "SHARED-3", payerName: "Tom", structuredReference: reference("tw-4"))]),
            ])]).xml
            let first = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: earlier))
            #expect(first.json["matched"] as? Int == 4, "\(first.text)")
            let xml = CamtStatementBuilder(statements: [.init(id: "TW-1", iban: ourIBAN, entries: [
                .init(date: "2026-03-03", bankReference: "TW-1", transactions: [T(amount: "125.00", endToEndID: "SHARED-1", payerName: "Tess", structuredReference: reference("tw-1"))]),
                .init(date: "2026-03-03", bankReference: "TW-2", transactions: [T(amount: "125.00", endToEndID: "SHARED-1", payerName: "Theo", structuredReference: reference("tw-2"))]),
                .init(date: "2026-03-03", bankReference: "TW-3", transactions: [T(amount: "125.00", endToEndID: "SHARED-2", payerName: "Tia", structuredReference: reference("tw-2"))]),
                .init(credit: false, date: "2026-03-04", bankReference: "TW-4", transactions: [T(amount: "125.00", endToEndID: "SHARED-1", returnReason: "AC04")]),
                .init(credit: false, date: "2026-03-04", bankReference: "TW-5", transactions: [T(amount: "125.00", endToEndID: "SHARED-2", returnReason: "AC04")]),
                .init(credit: false, date: "2026-03-04", bankReference: "TW-6", transactions: [T(amount: "60.00", endToEndID: "ALONE", returnReason: "AC04")]),
                .init(date: "2026-03-03", bankReference: "TW-7", transactions: [T(amount: "125.00", endToEndID: "SHARED-3", payerName: "Tess", structuredReference: reference("tw-1"))]),
                .init(credit: false, date: "2026-03-04", bankReference: "TW-8", transactions: [T(amount: "125.00", endToEndID: "SHARED-3", returnReason: "AC04")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["returns"] as? Int == 0 && imported.json["unmatchedReturns"] as? Int == 4, "\(imported.text)")
            for id in ["tw-1", "tw-2", "tw-3", "tw-4"] {
                let listing = try await client.execute(uri: "/api/v1/profiles/\(id)/listing", method: .get, headers: staff)
                #expect(listing.json["visible"] as? Bool == true, "\(id) lost its listing to a return that was not its own: \(listing.text)")
            }
        }
    }

    /// Imports a camt.053 statement `statement` of our account holding `entry` alone, through the API.
    static func importOneEntry(_ client: any TestClientProtocol, _ staff: HTTPFields, statement: String, _ entry: CamtStatementBuilder.Entry) async throws -> TestResponse {
        let xml = CamtStatementBuilder(statements: [.init(id: statement, iban: ourIBAN, entries: [entry])]).xml
        return try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
    }

    /// "balances add up": a camt.053 statement with booked entries but without its opening or its closing balance
    /// cannot be checked, and is refused whole, as an MT940 statement without its closing balance is (before, it
    /// was booked unchecked).
    @Test(arguments: Backend.allCases)
    func aCamtStatementWithoutBothBalancesIsRefused(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["nb-1"])
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "NB-1", iban: ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "NB-1", transactions: [T(amount: "125.00", payerName: "Nora", structuredReference: reference("nb-1"))]),
            ])]).xml
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            let head = try await runtime.store.headCursor()
            for (missing, words) in [("CLBD", "no closing balance"), ("OPBD", "no opening balance")] {
                let cut = xml.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("<Cd>\(missing)</Cd>") }.joined(separator: "\n")
                #expect(cut != xml)
                let refused = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: cut))
                #expect(refused.status == .unprocessableContent && refused.text.contains(words), "without \(missing): \(refused.status) \(refused.text)")
            }
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            #expect(try await runtime.store.headCursor() == head, "a statement that cannot be checked booked something")

            // A page of a statement split over several opens and closes with interim booked balances (`ITBD`): it
            // is checked with them, and its closing balance, partway through the statement, is no check of the books.
            let page = xml.replacingOccurrences(of: "<Cd>OPBD</Cd>", with: "<Cd>ITBD</Cd>").replacingOccurrences(of: "<Cd>CLBD</Cd>", with: "<Cd>ITBD</Cd>")
            let wrong = page.replacingOccurrences(of: ">1125.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-06", with: ">1124.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-06")
            #expect(wrong != page)
            let unbalanced = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: wrong))
            // Checked with its interim balances, not refused for having none.
            #expect(unbalanced.status == .unprocessableContent && unbalanced.text.contains("but the closing balance is 1124.00 EUR"), "\(unbalanced.text)")
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: page))
            #expect(imported.status == .created && imported.json["matched"] as? Int == 1, "\(imported.text)")
            let exported = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
            #expect(exported.status == .ok && !exported.text.contains(" balance Assets:Bank"), "\(exported.text)")
        }
    }

    /// A pending entry and a booked twin that says the same (no bank reference), then a later export of the day
    /// with only the booked one: the booked transfer is booked once. Before, the pending entry took the first
    /// place among identical lines, so the twin was known by the second place at noon and by the first in the
    /// evening, and booked again.
    @Test(arguments: Backend.allCases)
    func aPendingTwinDoesNotMoveItsBookedTwinsKey(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["pt-1"])
            typealias T = CamtStatementBuilder.Transaction
            let entry = CamtStatementBuilder.Entry(date: "2026-03-02", bankReference: nil, transactions: [T(amount: "125.00", payerName: "Pia", structuredReference: reference("pt-1"))])
            // At noon: the first entry still pending (it changes no balance), the second booked.
            var pending = entry
            pending.pending = true
            let noon = CamtStatementBuilder(statements: [.init(id: "PT-NOON", iban: ourIBAN, entries: [pending, entry])]).xml
            let atNoon = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: noon))
            #expect(atNoon.status == .created && atNoon.json["matched"] as? Int == 1 && atNoon.json["notBooked"] as? Int == 1, "\(atNoon.text)")
            let evening = CamtStatementBuilder(statements: [.init(id: "PT-EVENING", iban: ourIBAN, entries: [entry])]).xml
            let atEvening = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: evening))
            #expect(atEvening.status == .created && atEvening.json["matched"] as? Int == 0 && atEvening.json["alreadyImported"] as? Int == 1, "\(atEvening.text)")
            let allocations = try await runtime.profiles.load(try ProfileID("pt-1")).state.allocations
            #expect(allocations.count == 1, "the transfer was booked \(allocations.count) times")
        }
    }

    /// A payer whose transfer the bank returned sends the money again under the same end-to-end id, and the bank
    /// returns that too: the second return takes back the second payment, the one of the id not returned yet
    /// (before, the first one, returned already, made two candidates and nothing was taken back).
    @Test(arguments: Backend.allCases)
    func aSecondReturnUnderTheSameIdTakesBackThePaymentSentAgain(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["sr-1"])
            typealias T = CamtStatementBuilder.Transaction
            func credit(_ day: String, _ bankReference: String) -> CamtStatementBuilder.Entry {
                .init(date: day, bankReference: bankReference, transactions: [T(amount: "125.00", endToEndID: "E2E-SR", payerName: "Sara", structuredReference: reference("sr-1"))])
            }
            func returned(_ day: String, _ bankReference: String) -> CamtStatementBuilder.Entry {
                .init(credit: false, date: day, bankReference: bankReference, transactions: [T(amount: "125.00", endToEndID: "E2E-SR", returnReason: "AC04")])
            }
            #expect(try await Self.importOneEntry(client, staff, statement: "SR-1", credit("2026-03-02", "SR-1")).json["matched"] as? Int == 1)
            let first = try await Self.importOneEntry(client, staff, statement: "SR-2", returned("2026-03-03", "SR-2"))
            #expect(first.json["returns"] as? Int == 1, "\(first.text)")
            #expect(try await Self.importOneEntry(client, staff, statement: "SR-3", credit("2026-03-04", "SR-3")).json["matched"] as? Int == 1)
            let second = try await Self.importOneEntry(client, staff, statement: "SR-4", returned("2026-03-05", "SR-4"))
            #expect(second.json["returns"] as? Int == 1 && second.json["unmatchedReturns"] as? Int == 0, "\(second.text)")
            let listing = try await client.execute(uri: "/api/v1/profiles/sr-1/listing", method: .get, headers: staff)
            #expect(listing.json["visible"] as? Bool == false, "the money went back twice, and the listing stayed: \(listing.text)")
        }
    }

    /// A transfer waiting for staff that the bank then returns waits no more: its money went back to the payer, so
    /// the queue no longer asks about it (it shows as returned by the bank), and a resolution is refused.
    @Test(arguments: Backend.allCases)
    func aHeldTransferTheBankReturnsWaitsNoMore(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["hr-1"])
            typealias T = CamtStatementBuilder.Transaction
            let held = try await Self.importOneEntry(client, staff, statement: "HR-1", .init(date: "2026-03-02", bankReference: "HR-1", transactions: [T(amount: "125.00", endToEndID: "E2E-HR", payerName: "Hal", text: "membership")]))
            #expect(held.json["queued"] as? Int == 1, "\(held.text)")
            let returned = try await Self.importOneEntry(client, staff, statement: "HR-2", .init(credit: false, date: "2026-03-03", bankReference: "HR-2", transactions: [T(amount: "125.00", endToEndID: "E2E-HR", returnReason: "AC04")]))
            #expect(returned.json["returns"] as? Int == 1, "\(returned.text)")
            try await runtime.catchUpStaffViews()
            let queue = try JSONSerialization.jsonObject(with: Data(try await client.execute(uri: "/api/v1/reconciliation/exceptions?includeResolved=true", method: .get, headers: staff).text.utf8)) as? [[String: Any]] ?? []
            let row = try #require(queue.first, "\(queue)")
            #expect(row["resolved"] as? Bool == true && (row["resolution"] as? String)?.hasPrefix("returned by the bank") == true, "\(row)")
            let paymentID = try #require(row["paymentId"] as? String)
            let waiting = try JSONSerialization.jsonObject(with: Data(try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff).text.utf8)) as? [[String: Any]] ?? []
            #expect(!waiting.contains { $0["paymentId"] as? String == paymentID }, "\(waiting)")
            let resolve = try await client.execute(
                uri: "/api/v1/reconciliation/exceptions/\(paymentID)/resolve", method: .post, headers: staff,
                body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["resolution": "allocate", "profileId": "hr-1", "reason": "guess"]))
            )
            #expect(resolve.status == .conflict, "\(resolve.text)")
            let listing = try await client.execute(uri: "/api/v1/profiles/hr-1/listing", method: .get, headers: staff)
            #expect(listing.json["visible"] as? Bool == false, "\(listing.text)")
        }
    }

    /// One transfer whose references name two profiles (one payer paying for two mediators) pays for neither
    /// by itself: it waits for staff as `several-profiles`, naming both, with no one-click suggestion. Naming
    /// one profile twice (its listing and its donation reference) is still a plain payment for it.
    @Test(arguments: Backend.allCases)
    func aTransferNamingTwoProfilesWaitsForStaffToSplitIt(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["sp-1", "sp-2", "sp-3"])
            let printed = { (id: String) in CreditorReference.forProfile(try! ProfileID(id)).printed }
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "SP-1", iban: ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "SP-1", transactions: [T(amount: "250.00", payerName: "Sam", text: "\(printed("sp-1")) and \(printed("sp-2"))")]),
                .init(date: "2026-03-02", bankReference: "SP-2", transactions: [T(amount: "125.00", payerName: "Sue", structuredReference: reference("sp-3"), text: "and \(CreditorReference.forDonation(by: try ProfileID("sp-3")).printed)")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["matched"] as? Int == 1 && imported.json["queued"] as? Int == 1, "\(imported.text)")
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
            let queue = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
            let entries = try JSONSerialization.jsonObject(with: Data(queue.text.utf8)) as? [[String: Any]] ?? []
            #expect(entries.count == 1, "\(queue.text)")
            #expect(entries.first?["reasonCode"] as? String == "several-profiles", "\(queue.text)")
            #expect((entries.first?["reason"] as? String)?.contains("sp-1, sp-2") == true, "\(queue.text)")
            #expect(entries.first?["suggestedProfileId"] == nil, "a click would allocate it whole to one of them: \(queue.text)")
            for (id, listed) in [("sp-1", false), ("sp-2", false), ("sp-3", true)] {
                let listing = try await client.execute(uri: "/api/v1/profiles/\(id)/listing", method: .get, headers: staff)
                #expect(listing.json["visible"] as? Bool == listed, "\(id): \(listing.text)")
            }
        }
    }

    /// "Importing a statement again, or one that overlaps it, in the same format books nothing twice": a daily
    /// statement, then the week's statement holding that day too, in camt.053 (lines with the bank's
    /// reference) and in MT940 (lines without one, known by their content): the week books only its new lines.
    @Test(arguments: Backend.allCases)
    func aStatementThatOverlapsOneImportedBeforeBooksOnlyItsNewLines(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["ov-1", "ov-2", "ov-3", "ov-4"])
            func upload(_ text: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: text))
            }
            typealias T = CamtStatementBuilder.Transaction
            let monday = CamtStatementBuilder.Entry(date: "2026-03-02", bankReference: "OV-1", transactions: [T(amount: "125.00", payerName: "O", structuredReference: reference("ov-1"))])
            let tuesday = CamtStatementBuilder.Entry(date: "2026-03-03", bankReference: "OV-2", transactions: [T(amount: "125.00", payerName: "P", structuredReference: reference("ov-2"))])
            let daily = try await upload(CamtStatementBuilder(statements: [.init(id: "D-0302", iban: ourIBAN, entries: [monday])]).xml)
            #expect(daily.json["matched"] as? Int == 1, "\(daily.text)")
            let weekly = try await upload(CamtStatementBuilder(statements: [.init(id: "W-10", iban: ourIBAN, entries: [monday, tuesday])]).xml)
            #expect(weekly.json["matched"] as? Int == 1 && weekly.json["alreadyImported"] as? Int == 1, "\(weekly.text)")

            let day = """
                :20:MD1
                :25:NL91ABNA0417164300
                :28C:1/1
                :60F:C260304EUR0,00
                :61:2603040304C125,00NTRFNONREF
                :86:/NAME/Q/REMI/USTD//\(reference("ov-3"))
                :62F:C260304EUR125,00

                """
            let week = """
                :20:MW1
                :25:NL91ABNA0417164300
                :28C:1/1
                :60F:C260304EUR0,00
                :61:2603040304C125,00NTRFNONREF
                :86:/NAME/Q/REMI/USTD//\(reference("ov-3"))
                :61:2603050305C125,00NTRFNONREF
                :86:/NAME/R/REMI/USTD//\(reference("ov-4"))
                :62F:C260305EUR250,00

                """
            let first = try await upload(day)
            #expect(first.json["matched"] as? Int == 1, "\(first.text)")
            let second = try await upload(week)
            #expect(second.json["matched"] as? Int == 1 && second.json["alreadyImported"] as? Int == 1, "\(second.text)")
            let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=2026-03-05", method: .get, headers: staff)
            let balances = Dictionary(((trial.json["accounts"] as? [[String: Any]]) ?? []).map { ($0["account"] as? String ?? "", $0["balance"] as? String ?? "") }) { a, _ in a }
            #expect(balances["Income:ListingContributions"] == "-500.00", "four transfers, each booked once: \(trial.text)")
        }
    }

    /// The same two statements in one file (a day's and the week's, as some banks export them together): the
    /// day's line without a bank reference comes twice and is one transfer, booked once.
    @Test(arguments: Backend.allCases)
    func aDayAndItsWeekInOneFileBookTheDaysLinesOnce(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["ow-1", "ow-2"])
            let file = """
                :20:MD2
                :25:NL91ABNA0417164300
                :28C:1/1
                :60F:C260309EUR0,00
                :61:2603090309C125,00NTRFNONREF
                :86:/NAME/Q/REMI/USTD//\(reference("ow-1"))
                :62F:C260309EUR125,00
                -
                :20:MW2
                :25:NL91ABNA0417164300
                :28C:1/1
                :60F:C260309EUR0,00
                :61:2603090309C125,00NTRFNONREF
                :86:/NAME/Q/REMI/USTD//\(reference("ow-1"))
                :61:2603100310C125,00NTRFNONREF
                :86:/NAME/R/REMI/USTD//\(reference("ow-2"))
                :62F:C260310EUR250,00

                """
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: file))
            #expect(imported.json["matched"] as? Int == 2 && imported.json["alreadyImported"] as? Int == 1, "\(imported.text)")
            let ow1 = try await runtime.store.readStream("profile-ow-1", fromVersion: 1, limit: 100).filter { $0.type == "ContributionAllocated" }
            #expect(ow1.count == 1, "ow-1 paid once, not twice")
            let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=2026-03-10", method: .get, headers: staff)
            let balances = Dictionary(((trial.json["accounts"] as? [[String: Any]]) ?? []).map { ($0["account"] as? String ?? "", $0["balance"] as? String ?? "") }) { a, _ in a }
            #expect(balances["Income:ListingContributions"] == "-250.00", "two transfers, each booked once: \(trial.text)")
        }
    }

    /// One statement on two pages (`:28C:42/1`, `:28C:42/2`), with two identical transfers without a bank
    /// reference, one on each page: two transfers, both booked (the pages are one statement, not a day and its week).
    @Test(arguments: Backend.allCases)
    func twoIdenticalTransfersOnTwoPagesOfOneStatementAreBothBooked(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["pg-1"])
            let file = """
                :20:P1
                :25:NL91ABNA0417164300
                :28C:42/1
                :60F:C260316EUR0,00
                :61:2603160316C125,00NTRFNONREF
                :86:/NAME/Q/REMI/USTD//\(reference("pg-1"))
                :62M:C260316EUR125,00
                -
                :20:P2
                :25:NL91ABNA0417164300
                :28C:42/2
                :60M:C260316EUR125,00
                :61:2603160316C125,00NTRFNONREF
                :86:/NAME/Q/REMI/USTD//\(reference("pg-1"))
                :62F:C260316EUR250,00

                """
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: file))
            #expect(imported.json["matched"] as? Int == 2 && imported.json["alreadyImported"] as? Int == 0, "\(imported.text)")
            let again = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: file))
            #expect(again.json["alreadyImported"] as? Int == 2, "a re-import finds both: \(again.text)")
        }
    }

    /// A page that ends with an intermediate balance (`:62M:`) partway through a day, the day's other line being on
    /// the next page, gives the books no balance check: checked at the day's end, it would miss that line and make
    /// bean-check refuse correct books. The final balance (`:62F:`) is checked.
    @Test(arguments: Backend.allCases)
    func anIntermediateBalanceIsNoCheckOfTheBooks(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            let file = """
                :20:P1
                :25:NL91ABNA0417164300
                :28C:43/1
                :60F:C260316EUR0,00
                :61:2603160316C30,00NTRFNONREF
                :86:/NAME/Bo/REMI/USTD//gift one
                :62M:C260316EUR30,00
                -
                :20:P2
                :25:NL91ABNA0417164300
                :28C:43/2
                :60M:C260316EUR30,00
                :61:2603160316C40,00NTRFNONREF
                :86:/NAME/Cy/REMI/USTD//gift two
                :61:2603170317C5,00NTRFNONREF
                :86:/NAME/Di/REMI/USTD//gift three
                :62F:C260317EUR75,00

                """
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: file))
            #expect(imported.status == .created, "\(imported.text)")
            let exported = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
            #expect(exported.text.contains("2026-03-18 balance Assets:Bank  75.00 ~ 0.00 EUR"), "\(exported.text)")
            #expect(!exported.text.contains("2026-03-17 balance Assets:Bank"), "the page's intermediate balance is no check: \(exported.text)")
            let checked = try BooksTests.beanCheck(exported.text)
            #expect(checked.status == 0, "bean-check refused the export: \(checked.output)\n\(exported.text)")
        }
    }

    /// A page number as large as a number can be, followed by another page of the same statement number: read as
    /// two statements, not a trap (the next page's number was worked out by adding one).
    @Test
    func aPageNumberAtTheLimitIsReadWithoutATrap() async throws {
        let (summary, movements) = try await Self.importedThroughTheService(
            """
                :20:P1
                :25:NL91ABNA0417164300
                :28C:7/9223372036854775807
                :60F:C260317EUR0,00
                :61:2603170317D1,00NMSCNONREF
                :86:account fee
                :62F:D260317EUR1,00
                -
                :20:P2
                :25:NL91ABNA0417164300
                :28C:7/1
                :60F:D260317EUR1,00
                :61:2603170317D1,00NMSCNONREF
                :86:card fee
                :62F:D260317EUR2,00

                """, .sqlite)
        #expect(summary.statements == 2 && summary.lines == 2)
        #expect(movements.count == 2, "a fee on each of two statements: both booked")
    }

    /// A debit whose text is as long as a field may be and made of characters JSON writes six bytes for: its
    /// record keeps the text cut, and the whole file is booked (it used to fail halfway with a limit of the store's,
    /// its earlier lines booked and its later ones not).
    @Test(arguments: Backend.allCases)
    func aDebitWithAnEnormousTextIsBookedWithItsTextCut(backend: Backend) async throws {
        let noise = String(repeating: "\u{01}", count: 60_000)
        let (summary, movements) = try await Self.importedThroughTheService(
            """
                :20:NOISE
                :25:NL91ABNA0417164300
                :28C:1/1
                :60F:C260311EUR100,00
                :61:2603110311D1,00NMSCNONREF
                :86:\(noise)
                :61:2603110311D2,00NMSCNONREF
                :86:account fee
                :62F:C260311EUR97,00

                """, backend)
        #expect(summary.lines == 2)
        #expect(movements.count == 2, "both debits are booked")
        #expect(movements.map(\.text.count).sorted() == ["account fee".count, BankStatementImport.movementTextMax], "\(movements.map(\.text.count))")
    }

    /// Imports an MT940 file holding `text` through the service into a fresh ledger; its summary, and the bank
    /// movements (lines that are no payment) the ledger recorded.
    private static func importedThroughTheService(
        _ text: String, _ backend: Backend
    ) async throws -> (summary: BankStatementImport.Summary, movements: [BankMovementRecorded]) {
        let runtime = try await TestRuntime.make(backend)
        do {
            let file = TestScratch.folder.appendingPathComponent("statement-\(UUID().uuidString).sta")
            try Data(text.utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let summary = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
            let movements = try await runtime.store.readAll(after: .start, limit: 1_000)
                .filter { $0.type == BankMovementRecorded.typeName }.map { try BankMovementRecorded.decode($0.data) }
            await runtime.close()
            return (summary, movements)
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// A return listed before the credit it takes back, in one file (a bank listing a day's debits first) takes
    /// it back, as when the file lists the credit first.
    @Test(arguments: Backend.allCases)
    func aReturnListedBeforeItsCreditTakesItBack(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["rb-1"])
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "RB-1", iban: ourIBAN, entries: [
                .init(credit: false, date: "2026-06-10", bankReference: "RB-R", transactions: [T(amount: "125.00", endToEndID: "E2E-777", returnReason: "AC04")]),
                .init(date: "2026-06-10", bankReference: "RB-C", transactions: [T(amount: "125.00", endToEndID: "E2E-777", payerName: "Rob", structuredReference: reference("rb-1"))]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["returns"] as? Int == 1 && imported.json["unmatchedReturns"] as? Int == 0, "\(imported.text)")
            let listing = try await client.execute(uri: "/api/v1/profiles/rb-1/listing", method: .get, headers: staff)
            #expect(listing.json["visible"] as? Bool == false, "the transfer went back to its payer: \(listing.text)")
            let again = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(again.json["alreadyImported"] as? Int == 2 && again.json["returns"] as? Int == 0, "\(again.text)")
        }
    }

    /// A return takes back only a credit that arrived by its own day: the payer sending the money again later
    /// under the same end-to-end id (listed in the same file) is a new payment, not the one that went back.
    @Test(arguments: Backend.allCases)
    func aReturnNeverTakesBackACreditThatArrivedAfterIt(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["rl-1", "rl-2", "rl-3"])
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "RL-1", iban: ourIBAN, entries: [
                .init(date: "2026-06-01", bankReference: "RL-C1", transactions: [T(amount: "125.00", endToEndID: "E2E-RL", payerName: "Rae", structuredReference: reference("rl-1"))]),
                .init(credit: false, date: "2026-06-02", bankReference: "RL-R", transactions: [T(amount: "125.00", endToEndID: "E2E-RL", returnReason: "AC04")]),
                .init(date: "2026-06-10", bankReference: "RL-C3", transactions: [T(amount: "125.00", endToEndID: "E2E-RL", payerName: "Rae", structuredReference: reference("rl-2"))]),
                // A return whose only credit under its id came later: it takes back nothing.
                .init(credit: false, date: "2026-06-03", bankReference: "RL-R2", transactions: [T(amount: "125.00", endToEndID: "E2E-LATE", returnReason: "AC04")]),
                .init(date: "2026-06-11", bankReference: "RL-C4", transactions: [T(amount: "125.00", endToEndID: "E2E-LATE", payerName: "Rae", structuredReference: reference("rl-3"))]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["returns"] as? Int == 1 && imported.json["unmatchedReturns"] as? Int == 1, "\(imported.text)")
            for (id, listed) in [("rl-1", false), ("rl-2", true), ("rl-3", true)] {
                let listing = try await client.execute(uri: "/api/v1/profiles/\(id)/listing", method: .get, headers: staff)
                #expect(listing.json["visible"] as? Bool == listed, "\(id): \(listing.text)")
            }
        }
    }

    /// A return that matches no payment is booked as money paid out, and the payment it returns still counts:
    /// staff trace it and reverse that payment by hand as a `bank_return`, and the books then hold the return
    /// against `Income:Returns`, with nothing left paid out unexplained and the bank account as the statements say.
    @Test(arguments: Backend.allCases)
    func aReturnThatMatchesNoPaymentIsSettledByAReversalByHand(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await certifiedProfiles(runtime, ["ru-1"])
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "RU-1", iban: ourIBAN, entries: [
                .init(date: "2026-06-01", bankReference: "RU-C", transactions: [T(amount: "125.00", endToEndID: "E2E-RU", payerName: "Ruth", structuredReference: reference("ru-1"))]),
                // The bank names another end-to-end id than the transfer's: the return matches no payment.
                .init(credit: false, date: "2026-06-05", bankReference: "RU-R", transactions: [T(amount: "125.00", endToEndID: "E2E-ELSE", returnReason: "AC04")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.json["matched"] as? Int == 1 && imported.json["unmatchedReturns"] as? Int == 1, "\(imported.text)")
            let payments = try await client.execute(uri: "/api/v1/payments?method=bank", method: .get, headers: staff)
            let listed = try JSONSerialization.jsonObject(with: Data(payments.text.utf8)) as? [[String: Any]] ?? []
            let paymentID = try #require(listed.first?["paymentId"] as? String, "\(payments.text)")
            func balances() async throws -> [String: String] {
                let today = OrganisationCalendar.amsterdam.date(at: Date())
                let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=\(today)", method: .get, headers: staff)
                return Dictionary(((trial.json["accounts"] as? [[String: Any]]) ?? []).compactMap { row in
                    (row["account"] as? String).map { ($0, row["balance"] as? String ?? "") }
                }, uniquingKeysWith: { $1 })
            }
            let before = try await balances()
            let opening = ["Assets:Bank": "1000.00", "Equity:OpeningBalances": "-1000.00"]
            #expect(before == opening.merging(["Expenses:Bank:Outgoing": "125.00", "Income:ListingContributions": "-125.00"]) { $1 }, "\(before)")
            let reversed = try await client.execute(
                uri: "/api/v1/profiles/ru-1/allocations/\(paymentID)/reverse", method: .post, headers: staff,
                body: ByteBuffer(string: #"{"kind":"bank_return","reason":"the return of 5 June, AC04"}"#)
            )
            #expect(reversed.status == .ok, "\(reversed.text)")
            let after = try await balances()
            #expect(after == opening.merging(["Expenses:Bank:Outgoing": "0.00", "Income:ListingContributions": "-125.00", "Income:Returns": "125.00"]) { $1 }, "\(after)")
            let listing = try await client.execute(uri: "/api/v1/profiles/ru-1/listing", method: .get, headers: staff)
            #expect(listing.json["visible"] as? Bool == false, "\(listing.text)")
        }
    }

    /// A file that writes the body's account two ways (its IBAN, and its domestic number) is refused whole:
    /// a day it brings could later come again written the other way, and its transfers would be booked twice.
    @Test(arguments: Backend.allCases)
    func aFileWritingOneAccountTwoWaysIsRefused(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            func statement(_ id: String, account: String, day: String, opening: String, amount: String, closing: String) -> String {
                """
                :20:\(id)
                :25:\(account)
                :28C:1/1
                :60F:C\(day)EUR\(opening)
                :61:\(day)\(day.suffix(4))C\(amount)NTRFNONREF
                :86:contribution
                :62F:C\(day)EUR\(closing)
                -

                """
            }
            let mixed = statement("S1", account: ourIBAN, day: "260202", opening: "0,00", amount: "50,00", closing: "50,00")
                + statement("S2", account: "0417164300", day: "260203", opening: "50,00", amount: "125,00", closing: "175,00")
            let refused = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: mixed))
            expectProblem(refused, .unprocessableContent, "statement-rejected")
            #expect(refused.text.contains("two ways"), "\(refused.text)")
            let payments = try await client.execute(uri: "/api/v1/payments?limit=10", method: .get, headers: staff)
            #expect(payments.text == "[]", "a refused file books nothing: \(payments.text)")
            // Each way in a file of its own: the second day, written the other way, is then refused as imported.
            let first = try await client.execute(
                uri: "/api/v1/bank-statements", method: .post, headers: staff,
                body: ByteBuffer(string: statement("S2", account: "0417164300", day: "260203", opening: "50,00", amount: "125,00", closing: "175,00"))
            )
            #expect(first.status == .created, "\(first.text)")
            let second = try await client.execute(
                uri: "/api/v1/bank-statements", method: .post, headers: staff,
                body: ByteBuffer(string: statement("S2B", account: ourIBAN, day: "260203", opening: "50,00", amount: "125,00", closing: "175,00"))
            )
            #expect(second.status != .created, "\(second.text)")
        }
    }

    /// A returned transfer that matches no payment reverses nothing; the import says so, for staff to act on.
    @Test(arguments: Backend.allCases)
    func aReturnThatMatchesNoPaymentIsCountedForStaff(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "RET-1", iban: ourIBAN, entries: [
                .init(credit: false, date: "2026-03-05", bankReference: "RT-1", transactions: [T(amount: "60.00", endToEndID: "E2E-ELSEWHERE", payerName: "Dan", returnReason: "MD06")]),
                .init(credit: false, date: "2026-03-05", bankReference: "RT-2", transactions: [T(amount: "4.50", text: "account fee")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["returns"] as? Int == 0 && imported.json["unmatchedReturns"] as? Int == 1, "\(imported.text)")
            #expect(imported.json["debits"] as? Int == 1, "\(imported.text)")
            // Listed for staff (the console's Statements page), the fee not among them.
            let listed = try await runtime.books.unmatchedReturns(limit: 5)
            #expect(listed.map(\.amount) == [.euros(minorUnits: 6_000)] && listed.first?.words.contains("MD06") == true, "\(listed)")
            // Imported again, it asks staff for nothing twice.
            let again = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
            #expect(again.json["unmatchedReturns"] as? Int == 0 && again.json["alreadyImported"] as? Int == 2, "\(again.text)")
            // Recorded for the books, as money going out.
            let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=2026-03-06", method: .get, headers: staff)
            let balances = Dictionary(((trial.json["accounts"] as? [[String: Any]]) ?? []).map { ($0["account"] as? String ?? "", $0["balance"] as? String ?? "") }) { a, _ in a }
            #expect(balances["Expenses:Bank:Outgoing"] == "64.50" && balances["Assets:Bank"] == "935.50", "\(trial.text)")
        }
    }

    /// Statement uploads have the parser's file cap, not the 64 KiB every other route has here.
    @Test
    func aStatementLargerThanTheGeneralBodyLimitIsAcceptedAndOtherRoutesKeepTheirs() async throws {
        let runtime = try await TestRuntime.make(.sqlite, bodyBytesMax: 64 * 1024)
        let staffKey = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
        let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        do {
            try await application.test(.live) { client in
                let entries = (0..<3).map { index in
                    CamtStatementBuilder.Entry(date: "2026-03-02", bankReference: "BIG-\(index)", transactions: [.init(amount: "10.00", payerName: "Payer \(index)", text: "gift number \(index)")])
                }
                // A long comment makes the document larger than the general limit without making the import slow.
                let padding = "<!-- " + String(repeating: "statement export padding ", count: 3_000) + "-->\n"
                let xml = CamtStatementBuilder(statements: [.init(id: "BIG", iban: ourIBAN, entries: entries)]).xml
                    .replacingOccurrences(of: "<BkToCstmrStmt>", with: padding + "<BkToCstmrStmt>")
                #expect(xml.utf8.count > 64 * 1024)
                let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: xml))
                #expect(imported.status == .created, "\(imported.text)")
                #expect(imported.json["lines"] as? Int == 3)

                var json = bearer(staffKey)
                json[.contentType] = "application/json"
                let tooLarge = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: json, body: ByteBuffer(string: String(repeating: " ", count: 64 * 1024 + 1)))
                #expect(tooLarge.status == .contentTooLarge)
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }
}
