import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
@testable import LedgerHTTP
@testable import LedgerService
import NIOCore
import TestSupport
import Testing

/// The staff console over HTTP: who gets in, what a form needs, and that changes carry the person's name.
@Suite("Staff console")
struct ConsoleTests {
    static let password = "correct horse battery"

    /// A browser: its cookies, and the console's form token once signed in.
    final class Browser: @unchecked Sendable {
        let client: any TestClientProtocol
        var cookies: [String: String] = [:]
        var formToken = ""

        init(_ client: any TestClientProtocol) { self.client = client }

        func send(_ uri: String, method: HTTPRequest.Method = .get, form: [String: String]? = nil, headers extra: HTTPFields = [:]) async throws -> TestResponse {
            var headers = extra
            if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            var body: ByteBuffer?
            if let form {
                headers[.contentType] = "application/x-www-form-urlencoded"
                body = ByteBuffer(string: form.map { "\(Self.encode($0.key))=\(Self.encode($0.value))" }.joined(separator: "&"))
            }
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
            for field in response.headers[values: .setCookie] {
                let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2 else { continue }
                if field.contains("Max-Age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
            }
            return response
        }

        static func encode(_ text: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        }

        /// Signs in through the form, as a person would; returns the answer to the form.
        @discardableResult
        func signIn(_ email: String, _ password: String = ConsoleTests.password) async throws -> TestResponse {
            let page = try await send("/console/sign-in")
            let token = try #require(ConsoleTests.hidden("_signin", in: page.text))
            let answer = try await send("/console/sign-in", method: .post, form: ["_signin": token, "email": email, "password": password, "next": "/console/profiles"])
            if answer.status == .seeOther {
                let home = try await send("/console/profiles")
                formToken = try #require(ConsoleTests.hidden("_csrf", in: home.text))
            }
            return answer
        }

        func post(_ uri: String, _ form: [String: String]) async throws -> TestResponse {
            try await send(uri, method: .post, form: form.merging(["_csrf": formToken]) { given, _ in given })
        }
    }

    /// The value of the first hidden input named `name`.
    static func hidden(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Income that arrived past what `Int64` can add (a bank return of 30,000,000,000,000,000.00 and another
    /// method's income in the same month) still draws: the dashboard's sums saturate instead of trapping.
    @Test
    func theIncomeChartDrawsAmountsPastWhatInt64Adds() {
        func row(_ method: String, _ net: Int64) -> BooksQueries.IncomeRow {
            BooksQueries.IncomeRow(
                month: "2026-05", method: method, currency: "EUR", contributions: "0.00", donations: "0.00", other: "0.00",
                refunds: "0.00", chargebacks: "0.00", returns: "0.00", net: "0.00", netMinorUnits: net
            )
        }
        let svg = ConsoleCharts.income([row("bank", 3_000_000_000_000_000_000), row("card", .max), row("offline", 12_500)], months: ["2026-04", "2026-05"])
        #expect(svg.contains("<svg") && svg.contains("Card") && svg.contains("Bank transfer"))
        #expect(svg.contains(ConsoleWords.euros(minorUnits: .max).replacingOccurrences(of: ".00", with: "")), "the axis tops out at the saturated total")
    }

    @Test
    func everyTemplateParses() throws {
        _ = try ConsoleTemplates.library.get()
        #expect(ConsoleTemplates.sources.count == 15)
    }

    @Test(arguments: Backend.allCases)
    func onlyASignedInPersonGetsInAndEveryFormNeedsItsToken(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "Anna@Example.org", password: Self.password)
            let stranger = Browser(client)

            // Signed out: every page and form leads to sign-in, and the page asked for is where it returns.
            let page = try await stranger.send("/console/payments?month=2026-01")
            #expect(page.status == .seeOther)
            #expect(page.headers[.location] == "/console/sign-in?next=/console/payments%3Fmonth%3D2026-01")
            #expect(try await stranger.send("/").headers[.location] == "/console")
            let refusedForm = try await stranger.send("/console/profiles", method: .post, form: ["profileId": "x-1", "kind": "mediator", "displayName": "X", "contactEmail": "x@example.org"])
            #expect(refusedForm.status == .seeOther && refusedForm.headers[.location]?.hasPrefix("/console/sign-in") == true)

            // API keys open no console page, whatever their role.
            for role in APIRole.allCases {
                let key = try await runtime.apiKeys.create(name: "k-\(role.rawValue)", role: role).key
                let answer = try await stranger.send("/console", headers: bearer(key))
                #expect(answer.status == .seeOther && answer.headers[.location]?.hasPrefix("/console/sign-in") == true, "\(role)")
            }

            // The sign-in form needs its own token (a login from another site is refused).
            let forged = try await stranger.send("/console/sign-in", method: .post, form: ["email": "anna@example.org", "password": Self.password])
            #expect(forged.status == .forbidden && stranger.cookies[ConsoleCookie.session] == nil)

            // A wrong password: refused in words, no session.
            let wrong = try await stranger.signIn("anna@example.org", "not the password")
            #expect(wrong.status == .unauthorized && wrong.text.contains("The e-mail address or the password is not right."))
            #expect(stranger.cookies[ConsoleCookie.session] == nil)

            // The right one (the address in any case): a session cookie, HttpOnly and SameSite, and the page asked for.
            let anna = Browser(client)
            let signedIn = try await anna.signIn("ANNA@example.org")
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/console/profiles")
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("\(ConsoleCookie.session)=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/console"))
            #expect(!cookie.contains("Secure"), "a development instance on http://localhost has no TLS")
            let today = try await anna.send("/console")
            #expect(today.status == .ok && today.text.contains("Anna Berger") && today.text.contains("Waiting for a decision"))
            #expect(today.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("script-src 'self'") == true)

            // A form without its token, or with another session's token, does nothing.
            let register = ["profileId": "ada-1", "kind": "mediator", "displayName": "Ada Lovelace", "contactEmail": "ada@example.org"]
            let withoutToken = try await anna.send("/console/profiles", method: .post, form: register)
            #expect(withoutToken.status == .forbidden && withoutToken.text.contains("This form has expired"))
            // Another character in front: the token is random, so it must differ from the one it replaces.
            let otherFirst = anna.formToken.hasPrefix("x") ? "y" : "x"
            let wrongToken = otherFirst + anna.formToken.dropFirst()
            #expect(wrongToken != anna.formToken)
            let withWrongToken = try await anna.send("/console/profiles", method: .post, form: register.merging(["_csrf": wrongToken]) { given, _ in given })
            #expect(withWrongToken.status == .forbidden)
            #expect(try await runtime.profiles.load(try ProfileID("ada-1")).state.isRegistered == false)

            // With it: registered, and the ledger names the person.
            let registered = try await anna.post("/console/profiles", register)
            #expect(registered.status == .seeOther && registered.headers[.location] == "/console/profiles/ada-1")
            let profilePage = try await anna.send("/console/profiles/ada-1")
            #expect(profilePage.text.contains("The profile is registered.") && profilePage.text.contains("Not listed: the profile is not certified yet."))
            let timeline = try await runtime.profiles.load(try ProfileID("ada-1")).timeline
            #expect(timeline.first?.actor == "user:Anna Berger <anna@example.org>")

            // Bad input is said in words and changes nothing.
            let badAmount = try await anna.post("/console/profiles/ada-1/offline-payments", ["amount": "12x", "date": "2026-03-01", "purpose": "listing"])
            #expect(badAmount.status == .unprocessableContent && badAmount.text.contains("The amount must look like 125.00."))
            #expect(try await runtime.profiles.load(try ProfileID("ada-1")).state.allocations.isEmpty)

            // Signing out ends the session: the old cookie opens nothing.
            let oldCookies = anna.cookies
            #expect(try await anna.post("/console/sign-out", [:]).status == .seeOther)
            #expect(anna.cookies[ConsoleCookie.session] == nil)
            anna.cookies = oldCookies
            #expect(try await anna.send("/console").status == .seeOther)
        }
    }

    /// A payment moved once from the console moves again from where it now is: the form offers the profiles the
    /// payment pays for now, not the one it arrived for (a second move was refused: "pays for bo-2, not ada-1").
    @Test(arguments: Backend.allCases)
    func aPaymentMovedFromTheConsoleMovesAgainFromWhereItIs(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: Self.password)
            for id in ["mv-1", "mv-2", "mv-3"] {
                _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id, contactEmail: "\(id)@example.org"), profileID: try ProfileID(id), metadata: .init(actor: "test"))
            }
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let (paymentID, _) = try await runtime.profiles.recordOfflinePayment(
                profileID: try ProfileID("mv-1"), amount: .euros(minorUnits: 12_500), date: today, purpose: .listing, note: "cash", metadata: .init(actor: "test"), idempotencyKey: nil
            )
            let anna = Browser(client)
            try await anna.signIn("anna@example.org")
            func moveFrom() async throws -> [String] {
                let page = try await anna.send("/console/payments/\(paymentID.rawValue)")
                guard let select = page.text.range(of: #"<select id="from" name="fromProfileId">"#) else { return [] }
                let options = String(page.text[select.upperBound...]).components(separatedBy: "</select>")[0]
                return options.components(separatedBy: #"<option value=""#).dropFirst().map { String($0.prefix { $0 != "\"" }) }
            }
            for (to, from) in [("mv-2", "mv-1"), ("mv-3", "mv-2")] {
                #expect(try await moveFrom() == [from])
                let moved = try await anna.post("/console/payments/\(paymentID.rawValue)/reassign", [
                    "fromProfileId": from, "toProfileId": to, "reason": "paid for a colleague",
                ])
                #expect(moved.status == .seeOther)
                let after = try await runtime.profiles.load(try ProfileID(to)).state.allocation(of: paymentID)
                #expect(after?.isActiveNow == true, "moved to \(to)")
            }
            // The history in words, not in the events' names.
            let history = try await anna.send("/console/payments/\(paymentID.rawValue)").text
            #expect(history.contains("Money received") && history.contains("Moved to another profile"), "\(history)")
            #expect(!history.contains("PaymentReceived") && !history.contains("PaymentReassigned"), "\(history)")
        }
    }

    /// The payment page offers "Void" only where a void would be done: a payment staff recorded, not after money
    /// of it was given back by hand (a void is then refused, 409), still after a reversal that took back only the
    /// listing (`0.00`). The API's answer for the payment does not carry the page's reckoning.
    @Test(arguments: Backend.allCases)
    func voidIsOfferedOnlyWhereAVoidWouldBeDone(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: Self.password)
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            var payments: [PaymentID] = []
            for id in ["vo-1", "vo-2"] {
                _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id, contactEmail: "\(id)@example.org"), profileID: try ProfileID(id), metadata: .init(actor: "test"))
                payments.append(try await runtime.profiles.recordOfflinePayment(
                    profileID: try ProfileID(id), amount: .euros(minorUnits: 12_500), date: today, purpose: .listing, note: "cash", metadata: .init(actor: "test"), idempotencyKey: nil
                ).paymentID)
            }
            let anna = Browser(client)
            try await anna.signIn("anna@example.org")
            func offersVoid(_ paymentID: PaymentID) async throws -> Bool {
                try await anna.send("/console/payments/\(paymentID.rawValue)").text.contains("Void (entered by mistake)")
            }
            let offeredFirst = try await offersVoid(payments[0]), offeredSecond = try await offersVoid(payments[1])
            #expect(offeredFirst && offeredSecond)
            _ = try await runtime.payments.giveBack(
                paymentID: payments[0], profileID: try ProfileID("vo-1"), kind: .refund, amount: .euros(minorUnits: 0), reason: "listing only", metadata: .init(actor: "staff")
            )
            _ = try await runtime.payments.giveBack(
                paymentID: payments[1], profileID: try ProfileID("vo-2"), kind: .refund, reason: "handed back in cash", metadata: .init(actor: "staff")
            )
            #expect(try await offersVoid(payments[0]), "only the listing was taken back")
            #expect(try await offersVoid(payments[1]) == false, "the money went back in cash")
            await #expect(throws: PaymentServiceError.self) {
                try await runtime.payments.void(paymentID: payments[1], reason: "mistake", metadata: .init(actor: "staff"))
            }
            let view = try #require(try await runtime.payments.view(payments[0]))
            let json = String(decoding: try JSONEncoder().encode(view), as: UTF8.self)
            #expect(view.voidable && !json.contains("voidable") && json.contains("\"givenBackByHand\""), "\(json)")
        }
    }

    /// A 413 that is not the body limit's (a read past one of the store's limits) keeps its own words: only the
    /// body limit's is told to shorten what was typed, with the limit.
    @Test
    func onlyTheBodyLimitsAnswerTellsStaffToShortenWhatTheyTyped() {
        let limit = ProblemMiddleware.consoleWords(for: .contentTooLarge(limit: 65_536))
        #expect(limit.title == "What was sent is too large" && limit.message.contains("at most 64 KiB. Nothing was saved: shorten what you typed"), "\(limit)")
        let other = ProblemMiddleware.consoleWords(for: Problem(.contentTooLarge, "too-large", title: "Too large", detail: "the policy stream holds more than 10000 changes"))
        #expect(other == ("Too large", "The policy stream holds more than 10000 changes."), "\(other)")
        #expect([52_428_800, 65_536, 1_536].map(ConsoleWords.size) == ["50 MiB", "64 KiB", "1536 bytes"])
    }

    /// Every failure under `/console` is a page with a sentence, as the README says, also where no console route
    /// runs: a form sent to an address that names no page, a method an address does not take, a form past the
    /// request limit, a control character in the query. (They were answered with API problem documents.) The API
    /// keeps its problem documents.
    @Test(arguments: Backend.allCases)
    func everyFailureUnderTheConsoleIsAPageWithASentence(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            let answers: [(String, TestResponse, HTTPResponse.Status, String)] = [
                ("a form to no page", try await anna.post("/console/nowhere", ["reason": "x"]), .notFound, "There is no page at that address in the console."),
                ("a method not taken", try await anna.send("/console/books", method: .delete), .methodNotAllowed, "DELETE is not allowed here; use GET."),
                (
                    "a form past the limit", try await anna.post("/console/profiles", ["note": String(repeating: "a", count: 1_100_000)]),
                    .contentTooLarge, "What was sent is larger than the console takes at once, which is at most 64 KiB. Nothing was saved"
                ),
                ("a control character in the query", try await anna.send("/console/profiles?search=%00"), .badRequest, "control character"),
            ]
            for (what, answer, status, words) in answers {
                #expect(answer.status == status, "\(what): \(answer.status)")
                #expect(answer.headers[.contentType]?.hasPrefix("text/html") == true, "\(what): \(answer.headers) \(answer.text.prefix(300))")
                #expect(answer.text.contains(words), "\(what): \(answer.text.prefix(2_000))")
            }
            #expect(answers[1].1.headers[.allow] == "GET", "\(answers[1].1.headers)")
            let api = try await client.execute(uri: "/api/v1/nowhere", method: .post, headers: [:])
            #expect(api.headers[.contentType] == "application/problem+json", "\(api.headers)")
        }
    }

    /// A console address that names no page answers with a page that says so, not an API problem document; a
    /// stranger is sent to sign in first, and the pages that exist are unchanged.
    @Test(arguments: Backend.allCases)
    func anAddressThatNamesNoPageIsAPageThatSaysSo(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            for uri in ["/console/nowhere", "/console/payments/p-1/nowhere", "/console/books/journal/more"] {
                let answer = try await anna.send(uri)
                #expect(answer.status == .notFound, "\(uri)")
                #expect(answer.headers[.contentType]?.hasPrefix("text/html") == true, "\(uri): \(answer.headers)")
                #expect(answer.text.contains("There is no page at that address in the console."), "\(uri)")
            }
            #expect(try await anna.send("/console/books").status == .ok)
            #expect(try await anna.send("/console").status == .ok)
            let stranger = Browser(client)
            let redirected = try await stranger.send("/console/nowhere")
            #expect(redirected.status == .seeOther && redirected.headers[.location]?.hasPrefix("/console/sign-in") == true)
            #expect(try await stranger.send("/console/sign-in").status == .ok)
        }
    }

    /// Long queues stay reachable: the exceptions page goes in pages of 100 (with the resolved ones, the latest
    /// decision first), and the directory page shows the latest deliveries and every dead letter, page by page.
    @Test(arguments: Backend.allCases)
    func longQueuesArePagedAndTheLatestComesFirst(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            let today = runtime.today.description
            let entries = (1...101).map { index in
                CamtStatementBuilder.Entry(
                    date: today, bankReference: "LQ-\(index)",
                    transactions: [.init(amount: "125.00", payerName: "Payer \(String(format: "%03d", index))", text: "membership")]
                )
            }
            let file = try CamtStatementBuilder(statements: [.init(id: "LQ", iban: "NL91ABNA0417164300", entries: entries)]).write()
            _ = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
            let waiting = try await runtime.paymentExceptions.list(includeResolved: false, limit: 200, offset: 0)
            #expect(waiting.count == 101)
            // Held in one import, they are held at one instant: the queue's order among them is its own, and the
            // pages follow it (the first 100, then the last), each payer on exactly one page.
            let first = try await anna.send("/console/exceptions").text
            let second = try await anna.send("/console/exceptions?page=2").text
            let payers = (1...101).map { "Payer \(String(format: "%03d", $0))" }
            #expect(payers.filter { first.contains($0) }.count == 100 && first.contains("/console/exceptions?page=2"), "\(first.count)")
            #expect(payers.filter { second.contains($0) }.count == 1 && payers.allSatisfy { first.contains($0) != second.contains($0) })
            #expect(try await anna.send("/console").text.contains("<strong>101</strong> payments wait for a decision"))
            // The newest, decided now, leads the list with the resolved ones (held last, it was on the second page).
            let oldest = try #require(waiting.last)
            _ = try await runtime.payments.resolve(
                paymentID: PaymentID(rawValue: oldest.paymentId), resolution: .donation, shares: [], reason: "a gift", metadata: .init(actor: "test")
            )
            let all = try await anna.send("/console/exceptions?all=1").text
            let decided = try #require(all.range(of: "id=\"p-\(oldest.paymentId)\""))
            let next = try #require(all.range(of: "id=\"p-"))
            #expect(decided.lowerBound == next.lowerBound, "the latest decision comes first")
            #expect(all.contains("/console/exceptions?all=1&amp;page=2") || all.contains("/console/exceptions?all=1&page=2"))

            let (endpoint, _) = try await runtime.directoryEndpoints.add(url: "http://127.0.0.1:9/hook", eventTypes: [.visibilityChanged])
            try await runtime.store.withReadModelTransaction { connection in
                for (index, status) in (Array(repeating: "delivered", count: 25) + Array(repeating: "dead", count: 130)).enumerated() {
                    let name = "\(status)-\(String(format: "%03d", index + 1))"
                    try await connection.execute(
                        """
                        INSERT INTO directory_deliveries (endpoint_id, event_id, event_type, profile_id, commit_order, position, recorded_at_micros,
                            payload, status, attempts, next_attempt_at_micros, last_error, delivered_at_micros)
                        VALUES (?, ?, 'listing.visibility_changed', ?, ?, ?, 0, '{}', ?, 1, 0, 'refused', ?)
                        """,
                        [
                            .text(endpoint.endpointId), .text(name), .text(name), .integer(Int64(index + 1)), .integer(Int64(index + 1)), .text(status),
                            // The first was sent again and delivered last of all (in 2023; all were due in 1970).
                            status == "delivered" ? .integer(index == 0 ? 1_700_000_000_000_000 : 1_600_000_000_000_000 + Int64(index + 1)) : .null,
                        ]
                    )
                }
            }
            let directory = try await anna.send("/console/directory").text
            #expect(directory.contains("delivered-025") && directory.contains("delivered-001") && !directory.contains("delivered-002"), "the latest deliveries")
            // Each at the time it was delivered, not the time it was due.
            #expect(directory.contains("2023") && !directory.contains("1970"), "\(directory)")
            #expect(directory.contains("dead-155") && !directory.contains("dead-055") && directory.contains("/console/directory?page=2"))
            let older = try await anna.send("/console/directory?page=2").text
            #expect(older.contains("dead-055") && older.contains("dead-026") && !older.contains("dead-155"))
        }
    }

    /// A form whose key was freed (its first sending failed with an outcome nobody knows, a database that went
    /// away during the commit, say) and that is then sent again records nothing twice: the waiver and the
    /// payment recorded by hand are named by the form's key, not by the sending.
    @Test(arguments: Backend.allCases)
    func aFormSentAgainAfterItsKeyWasFreedRecordsNothingTwice(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            let profileID = try ProfileID("fk-1")
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "fk", contactEmail: "fk@example.org"), profileID: profileID, metadata: .init(actor: "test"))
            let today = runtime.today.description
            func formKey() async throws -> String { try #require(Self.hidden("formKey", in: try await anna.send("/console/profiles/fk-1").text)) }
            func freeConsoleKeys() async throws {
                try await runtime.store.withReadModelTransaction { try await $0.execute("DELETE FROM idempotency_records WHERE caller LIKE 'console:%'", []) }
            }
            let waiver = ["from": today, "through": today, "reason": "hardship", "formKey": try await formKey()]
            let gift = ["amount": "50.00", "date": today, "purpose": "donation", "note": "cash", "formKey": try await formKey()]
            let payment = ["amount": "125.00", "date": today, "purpose": "listing", "note": "cash", "formKey": try await formKey()]
            for _ in 0..<2 {
                for (uri, form) in [("waivers", waiver), ("offline-payments", gift), ("offline-payments", payment)] {
                    let sent = try await anna.post("/console/profiles/fk-1/\(uri)", form)
                    #expect(sent.status == .seeOther, "\(uri): \(sent.text)")
                }
                try await freeConsoleKeys()
            }
            let state = try await runtime.profiles.load(profileID).state
            #expect(state.waivers.count == 1)
            #expect(state.allocations.count == 1)
            let payments = try await runtime.lists.payments(method: nil, purpose: nil, month: nil, state: nil, limit: 10, offset: 0)
            #expect(payments.count == 2, "one donation, one listing payment: \(payments.map(\.paymentId))")
        }
    }

    /// A waiver whose id holds a `/` and a space (an id sent through the API may hold any text) is revoked from
    /// the profile's page, and through the API under its id percent-encoded. Before, the form's address held the
    /// id as it is, and the router, which hands a path over undecoded, found no such page or no such waiver.
    @Test(arguments: Backend.allCases)
    func aWaiverWhoseIdHoldsASlashIsRevokedFromItsPage(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            let staff = try await StaffSession.start(client, runtime)
            for id in ["wv-1", "wv-2"] {
                try await staff.certifiedProfile(id)
                let granted = try await staff.post("/api/v1/profiles/\(id)/waivers", [
                    "waiverId": "2026/hardship one", "from": runtime.today.description, "through": runtime.today.description, "reason": "hardship",
                ])
                #expect(granted.status == .ok || granted.status == .created, "\(granted.text)")
            }
            // Listed on the waiver, which the listings page says (before, it said "paid").
            let listed = try await anna.send("/console/listings?view=waived").text
            #expect(listed.contains("wv-1") && listed.contains("<td>waiver</td>") && !listed.contains("<td>paid</td>"), "\(listed)")
            let page = try await anna.send("/console/profiles/wv-1").text
            let action = "/console/profiles/wv-1/waivers/2026%2Fhardship%20one/revoke"
            #expect(page.contains("action=\"\(action)\""), "\(page)")
            let formKey = try #require(Self.hidden("formKey", in: page))
            let revoked = try await anna.post(action, ["reason": "paid after all", "formKey": formKey])
            #expect(revoked.status == .seeOther && revoked.headers[.location] == "/console/profiles/wv-1", "\(revoked.status) \(revoked.text)")
            let byAPI = try await staff.post("/api/v1/profiles/wv-2/waivers/2026%2Fhardship%20one/revoke", ["reason": "paid after all"])
            #expect(byAPI.status == .ok, "\(byAPI.text)")
            for id in ["wv-1", "wv-2"] {
                let waivers = try await runtime.profiles.load(try ProfileID(id)).state.waivers
                #expect(waivers.map(\.granted.waiverID) == ["2026/hardship one"] && waivers.allSatisfy { $0.revokedAt != nil }, "\(id): \(waivers)")
            }
        }
    }

    /// A form sent twice (a double click) is carried out once: the second gets the first one's answer. A waiver,
    /// a donation recorded by hand (nothing else would catch it twice) and a part of a payment moved (the second
    /// would move the rest) each happen once; a form that was refused frees its key for the corrected form; and
    /// a field holding a control character is answered with a page in words, not a problem document.
    @Test(arguments: Backend.allCases)
    func aFormSentTwiceIsCarriedOutOnce(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            for id in ["tw-1", "tw-2"] {
                _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id, contactEmail: "\(id)@example.org"), profileID: try ProfileID(id), metadata: .init(actor: "test"))
            }
            let today = runtime.today.description
            func formKey(_ page: String) async throws -> String {
                try #require(Self.hidden("formKey", in: try await anna.send(page).text))
            }
            func twice(_ uri: String, _ form: [String: String]) async throws {
                let first = try await anna.post(uri, form)
                let second = try await anna.post(uri, form)
                #expect(first.status == .seeOther && second.status == .seeOther, "\(first.text) \(second.text)")
                #expect(second.headers[.location] == first.headers[.location])
            }
            let waiverKey = try await formKey("/console/profiles/tw-1")
            #expect(waiverKey.count == 36, "each page names its forms: '\(waiverKey)'")
            try await twice("/console/profiles/tw-1/waivers", ["from": today, "through": today, "reason": "hardship", "formKey": waiverKey])
            #expect(try await runtime.profiles.load(try ProfileID("tw-1")).state.waivers.count == 1)

            let giftKey = try await formKey("/console/profiles/tw-1")
            let gift = ["amount": "50.00", "date": today, "purpose": "donation", "note": "cash", "formKey": giftKey]
            try await twice("/console/profiles/tw-1/offline-payments", gift)
            let payments = try await runtime.lists.payments(method: nil, purpose: nil, month: nil, state: nil, limit: 10, offset: 0)
            #expect(payments.count == 1, "one donation: \(payments.map(\.paymentId))")

            let (paymentID, _) = try await runtime.profiles.recordOfflinePayment(
                profileID: try ProfileID("tw-2"), amount: .euros(minorUnits: 25_000), date: runtime.today, purpose: .listing, note: "cash",
                metadata: .init(actor: "test"), idempotencyKey: nil
            )
            let moveKey = try await formKey("/console/payments/\(paymentID.rawValue)")
            // Refused first (more than the share), then corrected under the same key, then sent twice.
            let refused = try await anna.post("/console/payments/\(paymentID.rawValue)/reassign", [
                "fromProfileId": "tw-2", "toProfileId": "tw-1", "amount": "900.00", "reason": "one transfer for both", "formKey": moveKey,
            ])
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            try await twice("/console/payments/\(paymentID.rawValue)/reassign", [
                "fromProfileId": "tw-2", "toProfileId": "tw-1", "amount": "125.00", "reason": "one transfer for both", "formKey": moveKey,
            ])
            for id in ["tw-1", "tw-2"] {
                let allocation = try await runtime.profiles.load(try ProfileID(id)).state.allocation(of: paymentID)
                #expect(allocation?.isActiveNow == true && allocation?.event.amount == .euros(minorUnits: 12_500), "\(id): \(String(describing: allocation?.event.amount))")
            }
            // Another form of an old page under a key used already: refused in words, nothing done.
            let stale = try await anna.post("/console/profiles/tw-1/waivers", ["from": today, "through": today, "reason": "again", "formKey": moveKey])
            #expect(stale.status == .unprocessableContent && stale.text.contains("This page is out of date"), "\(stale.text)")
            #expect(try await runtime.profiles.load(try ProfileID("tw-1")).state.waivers.count == 1)

            // A decision on a held transfer sent twice: the second gets the first's answer, not "not waiting for staff".
            let held = try await Self.heldAfterImporting(runtime, .init(
                date: today, bankReference: "TW-HELD", transactions: [.init(amount: "125.00", payerName: "Someone", text: "membership")]
            ))
            let decideKey = try await formKey("/console/exceptions")
            try await twice("/console/exceptions/\(held.paymentId)/resolve", ["resolution": "allocate", "profileId": "tw-1", "reason": "phoned", "formKey": decideKey])
            let shown = try await anna.send("/console/exceptions?all=1").text
            #expect(shown.contains("Recorded: the payment is") && !shown.contains("Nothing was changed"), "\(shown)")

            // A new API key's form sent twice: one key; the first answer shows its secret, the second says where it was.
            let keyForm = ["name": "website tw", "role": "website", "formKey": try await formKey("/console/settings")]
            let created = try await anna.post("/console/settings/keys", keyForm)
            #expect(created.status == .created && created.text.contains("shown only now"), "\(created.text)")
            let again = try await anna.post("/console/settings/keys", keyForm)
            #expect(again.status == .seeOther && again.headers[.location] == "/console/settings", "\(again.text)")
            let told = try await anna.send("/console/settings").text
            #expect(told.contains("was created when the form was first sent") && !told.contains("shown only now"), "\(told)")
            #expect(try await runtime.apiKeys.list().filter { $0.name == "website tw" }.count == 1)

            // A new staff user's form sent twice: one user; the password is not in what is kept of the form (a
            // plain SHA-256 of it would let a copy of the database be searched for the password at hashing speed).
            let userForm = ["name": "Ben Tw", "email": "ben.tw@example.org", "password": "correct horse battery staple", "formKey": try await formKey("/console/settings")]
            try await twice("/console/settings/users", userForm)
            let keptFingerprints = try await runtime.store.withReadModelConnection { connection in
                try await connection.query("SELECT fingerprint FROM idempotency_records WHERE idempotency_key = ?", [.text(userForm["formKey"] ?? "")]).map { try $0.blob(0) }
            }
            func formFingerprint(_ fields: [String: String]) -> Data {
                let text = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{0}")
                return IdempotentOutcome.fingerprint(method: "POST", path: "/console/settings/users", contentType: "console-form", body: Array(text.utf8))
            }
            #expect(keptFingerprints == [formFingerprint(userForm.filter { $0.key != "password" })], "the form is kept by its fields but the password")
            #expect(!keptFingerprints.contains(formFingerprint(userForm)))

            let control = try await anna.post("/console/profiles/tw-1/waivers", ["from": today, "through": today, "reason": "a\u{0B}b"])
            #expect(control.status == .badRequest && control.headers[.contentType]?.hasPrefix("text/html") == true, "\(control.text)")
            #expect(control.text.contains("control character"), "\(control.text)")

            // A new profile's form sent twice: registered once, and the second answer is the first's, not a
            // refusal saying the profile is registered already.
            let registerForm = [
                "profileId": "tw-3", "kind": "mediator", "displayName": "Tw Three", "contactEmail": "tw3@example.org",
                "formKey": try await formKey("/console/profiles"),
            ]
            try await twice("/console/profiles", registerForm)
            let registeredPage = try await anna.send("/console/profiles/tw-3").text
            #expect(registeredPage.contains("The profile is registered.") && !registeredPage.contains("registered already"), "\(registeredPage)")

            // A likely duplicate is refused in the form's words: the box to tick, not the API's field, and the
            // profile's id as it is written.
            let paid = ["amount": "125.00", "date": today, "purpose": "listing", "note": "cash"]
            let firstPayment = try await anna.post("/console/profiles/tw-3/offline-payments", paid)
            #expect(firstPayment.status == .seeOther, "\(firstPayment.text)")
            let duplicate = try await anna.post("/console/profiles/tw-3/offline-payments", paid)
            #expect(duplicate.status == .conflict, "\(duplicate.status) \(duplicate.text)")
            #expect(duplicate.text.contains("Nothing was changed: Profile tw-3 already has an offline payment of 125.00 EUR"), "\(duplicate.text)")
            #expect(
                duplicate.text.contains("tick “This is not a duplicate” and send the form again") && !duplicate.text.contains("confirmDuplicate: true"),
                "\(duplicate.text)"
            )

            // A form sent to a profile whose id cannot be one is answered with a page, not a problem document.
            let noProfile = try await anna.post("/console/profiles/a%20b/waivers", ["from": today, "through": today, "reason": "hardship"])
            #expect(noProfile.status == .notFound && noProfile.headers[.contentType]?.hasPrefix("text/html") == true, "\(noProfile.text)")
            #expect(noProfile.text.contains("That is not a profile id."), "\(noProfile.text)")

            // So is a sign-in form that cannot be read (a control character in the password).
            let stranger = Browser(client)
            let signInPage = try await stranger.send("/console/sign-in")
            let signInToken = try #require(Self.hidden("_signin", in: signInPage.text))
            let unreadable = try await stranger.send("/console/sign-in", method: .post, form: [
                "_signin": signInToken, "email": "anna@example.org", "password": "pass\u{01}word", "next": "/console",
            ])
            #expect(unreadable.status == .badRequest && unreadable.headers[.contentType]?.hasPrefix("text/html") == true, "\(unreadable.text)")
            #expect(unreadable.text.contains("control character") && unreadable.text.contains("Type it again and sign in."), "\(unreadable.text)")
        }
    }

    /// A transfer from the card provider is decided as its payout on the exceptions page: the page then says what
    /// was decided in words, and the payment's page calls it a payout, not a listing contribution.
    @Test(arguments: Backend.allCases)
    func aPayoutIsDecidedOnTheExceptionsPageAndCalledOne(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            let held = try await Self.heldAfterImporting(runtime, .init(
                date: runtime.profiles.policy.calendar.date(at: runtime.now()).description, bankReference: "PAYOUT-1",
                transactions: [.init(amount: "220.00", payerName: "STRIPE", text: "STRIPE PAYOUT")]
            ))
            // The transfer names Stripe: one click decides it, as the page's button sends it.
            let waiting = try await anna.send("/console/exceptions").text
            #expect(waiting.contains(#"<option value="card-payout">A payout from the card provider</option>"#))
            #expect(waiting.contains(#"<input type="hidden" name="resolution" value="card-payout">"#) && waiting.contains("It is a payout from the card provider</button>"), "\(waiting)")
            let answer = try await anna.post("/console/exceptions/\(held.paymentId)/resolve", [
                "resolution": "card-payout", "reason": "a payout from the card provider, named in the transfer",
            ])
            #expect(answer.status == .seeOther)
            let decided = try await anna.send("/console/exceptions?all=1")
            #expect(decided.text.contains("Resolved: a payout from the card provider: a payout from the card provider, named in the transfer."), "\(decided.text)")
            let payment = try await anna.send("/console/payments/\(held.paymentId)")
            #expect(payment.text.contains("Payout from the card provider, received."), "\(payment.text)")
            #expect(!payment.text.contains("Listing contribution"), "\(payment.text)")
            // The payments list says so too, and lists it under payouts, not under listing contributions.
            let listed = try await anna.send("/console/payments").text
            #expect(listed.contains("<td>payout from the card provider</td>") && !listed.contains("<td>listing contribution</td>"), "\(listed)")
            let payouts = try await anna.send("/console/payments?purpose=card-payout").text
            #expect(payouts.contains(held.paymentId), "\(payouts)")
            let contributions = try await anna.send("/console/payments?purpose=listing").text
            #expect(!contributions.contains(held.paymentId), "\(contributions)")
            let rows = try await runtime.lists.payments(method: nil, purpose: .cardPayout, month: nil, state: nil, limit: 10, offset: 0)
            #expect(rows.map(\.paymentId) == [held.paymentId] && rows.first?.purpose == "card-payout", "\(rows)")
        }
    }

    /// The API's exception queue takes in what the log holds before it answers, as the other staff lists do: a
    /// transfer held a moment ago is in it without anything else having caught the read models up (no background
    /// work runs here).
    @Test(arguments: Backend.allCases)
    func theExceptionQueueTakesInWhatTheLogHoldsBeforeItAnswers(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            let file = try CamtStatementBuilder(statements: [.init(id: "Q-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: "2026-03-02", bankReference: "Q-A", transactions: [.init(amount: "80.00", payerName: "Someone", text: "no reference")]),
            ])]).write()
            _ = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
            // (On PostgreSQL an event is readable once every transaction begun before it has ended.)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            let queue = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
            #expect(queue.status == .ok && queue.text.contains("Someone · no reference"), "\(queue.text)")
        }
    }

    /// A payment's page names what staff decided it is, as the payments list does: a transfer whose reference said
    /// donation, allocated to a profile (or split, or accepted short), is a listing contribution; one kept as a
    /// donation, a donation; a payout, a payout; one to be paid back keeps what the payer said.
    @Test
    func aDecidedPaymentIsCalledWhatItWasDecidedToBe() {
        for resolution in ["allocate", "split", "accept-short"] {
            #expect(ConsoleWords.purpose("donation", resolution: resolution) == "listing contribution", "\(resolution)")
        }
        #expect(ConsoleWords.purpose("listing", resolution: "donation") == "donation")
        #expect(ConsoleWords.purpose("listing", resolution: "paypal-payout") == "payout from PayPal")
        #expect(ConsoleWords.purpose("donation", resolution: "refund") == "donation")
        #expect(ConsoleWords.purpose("listing", resolution: nil) == "listing contribution")
    }

    /// Anna, a staff user, signed in to the console.
    static func annaSignedIn(_ client: any TestClientProtocol, _ runtime: LedgerRuntime) async throws -> Browser {
        _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: Self.password)
        let anna = Browser(client)
        try await anna.signIn("anna@example.org")
        return anna
    }

    /// Imports a statement of one entry and returns the payment it put in the exception queue.
    static func heldAfterImporting(_ runtime: LedgerRuntime, _ entry: CamtStatementBuilder.Entry) async throws -> PaymentExceptionRow {
        let file = try CamtStatementBuilder(statements: [.init(id: "ONE-\(entry.bankReference ?? "x")", iban: "NL91ABNA0417164300", entries: [entry])]).write()
        _ = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
        try await runtime.catchUpStaffViews()
        return try #require(try await runtime.paymentExceptions.list(includeResolved: false, limit: 10, offset: 0).first)
    }

    /// "Another decision" on the exceptions page fills the profile field with the profile the payment names; a
    /// decision that allocates nothing (pay it back, a donation, not a contribution) is taken all the same (it was
    /// refused: "'refund' allocates nothing; send no profiles").
    @Test(arguments: Backend.allCases)
    func aDecisionThatAllocatesNothingIsTakenWhateverTheProfileFieldHolds(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: Self.password)
            let id = try ProfileID("sh-1")
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "Sh", contactEmail: "sh@example.org"), profileID: id, metadata: .init(actor: "test"))
            _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: id, metadata: .init(actor: "test"))
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let held = try await Self.heldAfterImporting(runtime, .init(
                date: today.description, bankReference: "SHORT-1",
                transactions: [.init(amount: "60.00", payerName: "Sh", structuredReference: CreditorReference.forProfile(id).electronic)]
            ))
            #expect(held.profileId == "sh-1")
            let anna = Browser(client)
            try await anna.signIn("anna@example.org")
            let page = try await anna.send("/console/exceptions")
            #expect(page.text.contains(#"name="profileId" value="sh-1""#), "the field as the page fills it")
            #expect(!page.text.contains("It is a payout"), "a transfer that names no provider is not offered as a payout")
            let answer = try await anna.post("/console/exceptions/\(held.paymentId)/resolve", [
                "resolution": "refund", "profileId": "sh-1", "reason": "paid too little; we pay it back",
            ])
            #expect(answer.status == .seeOther)
            let recorded = try await runtime.store.readStream("payment-\(held.paymentId)", fromVersion: 1, limit: 100).map(\.type)
            #expect(recorded.contains("PaymentHoldResolved"), "\(recorded)")
        }
    }

    /// A transfer staff decided to pay back: its page says to send the money and import the statement first;
    /// once the line of money going out is imported, the page offers it, and choosing it records the payment as
    /// paid back.
    @Test(arguments: Backend.allCases)
    func aTransferToPayBackIsPaidBackFromItsPageByChoosingTheLine(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let anna = try await Self.annaSignedIn(client, runtime)
            let held = try await Self.heldAfterImporting(runtime, .init(
                date: today.addingDays(-2).description, bankReference: "PAYBACK-1", transactions: [.init(amount: "60.00", payerName: "Olaf", text: "oops")]
            ))
            let resolved = try await anna.post("/console/exceptions/\(held.paymentId)/resolve", ["resolution": "refund", "reason": "sent by mistake"])
            #expect(resolved.status == .seeOther)
            let waiting = try await anna.send("/console/payments/\(held.paymentId)")
            #expect(waiting.text.contains("Record the transfer that paid it back") && waiting.text.contains("No imported bank line sends"), "\(waiting.text)")

            let sent = try CamtStatementBuilder(statements: [.init(id: "PAYBACK-2", iban: "NL91ABNA0417164300", openingCents: 106_000, entries: [
                .init(credit: false, date: today.addingDays(-1).description, bankReference: "PAYBACK-2", transactions: [.init(amount: "60.00", payerName: "Olaf", text: "your money back")]),
            ])]).write()
            _ = try await runtime.bankImport.importFile(sent, metadata: .init(actor: "test"))
            let offered = try await anna.send("/console/payments/\(held.paymentId)")
            let lineKey = try #require(offered.text.range(of: #"<option value="[0-9a-f]+">"#, options: .regularExpression).map {
                String(offered.text[$0].dropFirst(15).dropLast(2))
            }, "\(offered.text)")
            #expect(offered.text.contains("your money back"), "the line is shown as the bank wrote it")
            let paid = try await anna.post("/console/payments/\(held.paymentId)/paid-back", ["lineKey": lineKey, "note": "sent yesterday"])
            #expect(paid.status == .seeOther, "\(paid.text)")
            let recorded = try await runtime.store.readStream("payment-\(held.paymentId)", fromVersion: 1, limit: 100).map(\.type)
            #expect(recorded.last == "PaymentPaidBack", "\(recorded)")
            let paidPage = try await anna.send("/console/payments/\(held.paymentId)")
            #expect(!paidPage.text.contains("Record the transfer that paid it back"))
            #expect(paidPage.text.contains("The transfer back came back") && paidPage.text.contains("No imported bank line brings that money in"), "\(paidPage.text)")

            // Olaf's bank sends the transfer back: once that statement is imported, the page offers its line, and
            // choosing it makes the payment owed again, to be paid back by another transfer.
            let cameBack = try CamtStatementBuilder(statements: [.init(id: "PAYBACK-2B", iban: "NL91ABNA0417164300", openingCents: 100_000, entries: [
                .init(date: today.description, bankReference: "PAYBACK-2B", transactions: [.init(amount: "60.00", payerName: "Olaf", text: "account closed", returnReason: "AC04")]),
            ])]).write()
            _ = try await runtime.bankImport.importFile(cameBack, metadata: .init(actor: "test"))
            let returnOffered = try await anna.send("/console/payments/\(held.paymentId)")
            let returnKey = try #require(returnOffered.text.range(of: #"<option value="[0-9a-f]+">[^<]*60\.00 in"#, options: .regularExpression).map {
                String(returnOffered.text[$0].dropFirst(15).prefix { $0 != "\"" })
            }, "\(returnOffered.text)")
            let came = try await anna.post("/console/payments/\(held.paymentId)/pay-back-returned", ["lineKey": returnKey, "note": "account closed"])
            #expect(came.status == .seeOther, "\(came.text)")
            #expect(try await runtime.store.readStream("payment-\(held.paymentId)", fromVersion: 1, limit: 100).map(\.type).last == "PaymentPayBackReturned")
            let owedAgain = try await anna.send("/console/payments/\(held.paymentId)")
            #expect(owedAgain.text.contains("Record the transfer that paid it back") && !owedAgain.text.contains("The transfer back came back"), "\(owedAgain.text)")

            // A transfer to pay back that the bank returns to its payer meanwhile has gone back: its page says so
            // and offers no line to pay it back with.
            let again = try CamtStatementBuilder(statements: [.init(id: "PAYBACK-3", iban: "NL91ABNA0417164300", openingCents: 100_000, entries: [
                .init(date: today.addingDays(-1).description, bankReference: "PAYBACK-3", transactions: [
                    .init(amount: "45.00", endToEndID: "E2E-PAYBACK-3", payerName: "Pia", text: "twice"),
                ]),
            ])]).write()
            _ = try await runtime.bankImport.importFile(again, metadata: .init(actor: "test"))
            try await runtime.catchUpStaffViews()
            let second = try #require(try await runtime.paymentExceptions.list(includeResolved: false, limit: 10, offset: 0).first)
            #expect(try await anna.post("/console/exceptions/\(second.paymentId)/resolve", ["resolution": "refund", "reason": "paid twice"]).status == .seeOther)
            let bounced = try CamtStatementBuilder(statements: [.init(id: "PAYBACK-4", iban: "NL91ABNA0417164300", openingCents: 104_500, entries: [
                .init(credit: false, date: today.description, bankReference: "PAYBACK-4", transactions: [
                    .init(amount: "45.00", endToEndID: "E2E-PAYBACK-3", returnReason: "AC04"),
                ]),
                .init(credit: false, date: today.description, bankReference: "PAYBACK-5", transactions: [.init(amount: "45.00", payerName: "Pia", text: "sent back")]),
            ])]).write()
            _ = try await runtime.bankImport.importFile(bounced, metadata: .init(actor: "test"))
            let gone = try await anna.send("/console/payments/\(second.paymentId)")
            #expect(gone.text.contains("The bank returned this transfer to the payer on \(ConsoleWords.date(today)) (AC04)."), "\(gone.text)")
            #expect(!gone.text.contains("Record the transfer that paid it back"), "nothing is left to pay back: \(gone.text)")
            let staffKey = try await runtime.apiKeys.create(name: "Staff", role: .staff).key
            let view = try await client.execute(uri: "/api/v1/payments/\(second.paymentId)", method: .get, headers: bearer(staffKey))
            let returned = view.json["returned"] as? [String: Any]
            #expect(returned?["reason"] as? String == "AC04" && returned?["bookingDate"] as? String == today.description, "\(view.text)")
            let unused = try #require(try await runtime.books.moneyOutToPayBack(.euros(minorUnits: 4_500), bookedFrom: today, limit: 5).first?.lineKey)
            let refused = try await client.execute(
                uri: "/api/v1/payments/\(second.paymentId)/paid-back", method: .post,
                headers: [.authorization: "Bearer \(staffKey)", .contentType: "application/json"], body: ByteBuffer(string: #"{"lineKey":"\#(unused)"}"#)
            )
            #expect(refused.status == .conflict && refused.text.contains("was returned to its payer by the bank on \(today)"), "\(refused.text)")
        }
    }

    /// Staff download the journal for the accountant from the console, without an API key.
    @Test(arguments: Backend.allCases)
    func theJournalIsDownloadedFromTheBooksPage(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: Self.password)
            let id = try ProfileID("bk-1")
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "Bea", contactEmail: "bea@example.org"), profileID: id, metadata: .init(actor: "test"))
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let (paymentID, _) = try await runtime.profiles.recordOfflinePayment(
                profileID: id, amount: .euros(minorUnits: 12_500), date: today, purpose: .listing, note: "cash", metadata: .init(actor: "test"), idempotencyKey: nil
            )
            let anna = Browser(client)
            #expect(try await anna.send("/console/books/journal").status == .seeOther, "signed out: to sign-in")
            try await anna.signIn("anna@example.org")
            let page = try await anna.send("/console/books")
            #expect(page.status == .ok && page.text.contains("Download the journal"))
            #expect(page.text.contains(#"href="/console/books""#), "the books are in the navigation")

            let file = try await anna.send("/console/books/journal?format=beancount&from=\(today.year)-01-01&to=\(today)")
            #expect(file.status == .ok)
            #expect(file.headers[.contentDisposition] == "attachment; filename=\"books-\(today.year)-01-01-\(today).beancount\"")
            #expect(file.text.contains(paymentID.rawValue) && file.text.contains("Income:ListingContributions") && file.text.contains("-125.00 EUR"), "\(file.text)")
            let csv = try await anna.send("/console/books/journal?format=csv&from=&to=")
            #expect(csv.status == .ok && csv.text.contains(paymentID.rawValue))

            let refused = try await anna.send("/console/books/journal?format=beancount&from=2026-02-30")
            #expect(refused.status == .unprocessableContent)
            #expect(refused.text.contains("The first date must be a day like 2026-01-31"), "\(refused.text)")
            let backwards = try await anna.send("/console/books/journal?from=2026-03-01&to=2026-02-01")
            #expect(backwards.status == .unprocessableContent && backwards.text.contains("comes after the last"))
        }
    }

    /// The Today page says when the last statement ends, for a CSV file too (which states no balance), and asks
    /// for this week's once it is more than a week old.
    @Test(arguments: Backend.allCases)
    func theTodayPageKnowsTheLastStatementOfEveryFormat(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: Self.password)
            let anna = Browser(client)
            try await anna.signIn("anna@example.org")
            #expect(try await anna.send("/console").text.contains("No bank statement has been imported yet."))
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            func importCSV(_ day: LocalDate, _ reference: String) async throws {
                let file = TestScratch.folder.appendingPathComponent("today-\(UUID().uuidString).csv")
                defer { try? FileManager.default.removeItem(at: file) }
                try Data("date,amount,currency,payer_name,payer_iban,reference,bank_reference\n\(day),30.00,EUR,Bo,,gift,\(reference)\n".utf8).write(to: file)
                _ = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
            }
            let old = today.addingDays(-10)
            try await importCSV(old, "T-OLD")
            let stale = try await anna.send("/console").text
            #expect(stale.contains("No statement imported for 10 days (the last ends \(ConsoleWords.date(old))). Import this week"), "\(stale)")
            let recent = today.addingDays(-2)
            try await importCSV(recent, "T-NEW")
            #expect(try await anna.send("/console").text.contains("The last statement ends \(ConsoleWords.date(recent)): up to date."))
        }
    }

    /// After a CSV file is imported, the statements page lists no statement (a CSV file states no closing
    /// balance) and says so in those words, not that no statement was imported.
    @Test
    func theStatementsPageSaysACSVFileIsNotAmongTheStatementsItLists() async throws {
        try await withLiveServer(.sqlite) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            let file = TestScratch.folder.appendingPathComponent("console-\(UUID().uuidString).csv")
            try Data("date,amount,currency,payer_name,payer_iban,reference,bank_reference\n\(runtime.today),125.00,EUR,Payer,,gift,\n".utf8).write(to: file)
            let imported = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
            #expect(imported.queued == 1, "\(imported)")
            let page = try await anna.send("/console/statements").text
            #expect(page.contains("No statement with a closing balance has been imported in the last 800 days."), "\(page)")
            #expect(page.contains("file states no balance, so it is not listed here"), "\(page)")
        }
    }

    /// A statement file over the upload limit is told in words on a page, as every console failure is, not with
    /// the API's problem document; nothing is imported. The upload limit is the statement cap whatever the
    /// general body limit: with that set to 60 MiB, the page still names 50 MiB (the importer takes no more).
    @Test(arguments: [64 * 1_024, 60 * 1_048_576])
    func aStatementFileOverTheUploadLimitIsToldInWords(bodyBytesMax: Int) async throws {
        try await withLiveServer(.sqlite, bodyBytesMax: bodyBytesMax) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            let form = try await anna.send("/console/statements").text
            #expect(form.contains("data-max-bytes=\"52428800\"") && form.contains("which holds at most 50 MiB with the form around the file"), "\(form)")
            let limit = runtime.bankImport.fileBytesMax
            let head = "--XYZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(anna.formToken)\r\n"
                + "--XYZ\r\nContent-Disposition: form-data; name=\"statement\"; filename=\"big.xml\"\r\nContent-Type: application/xml\r\n\r\n"
            let tail = "\r\n--XYZ--\r\n"
            var body = ByteBuffer(string: head)
            body.writeRepeatingByte(UInt8(ascii: " "), count: limit + 1 - head.utf8.count - tail.utf8.count)
            body.writeString(tail)
            #expect(body.readableBytes == limit + 1)
            var headers = HTTPFields()
            headers[.contentType] = "multipart/form-data; boundary=XYZ"
            headers[.cookie] = anna.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
            let before = try await runtime.store.headCursor()
            let answer = try await client.execute(uri: "/console/statements", method: .post, headers: headers, body: body)
            #expect(answer.status == .contentTooLarge, "\(answer.status)")
            #expect(answer.headers[.contentType]?.hasPrefix("text/html") == true, "\(answer.text)")
            #expect(answer.text.contains("The file is too large for one upload, which holds at most 50 MiB with the form around the file. Nothing was imported."), "\(answer.text)")
            #expect(try await runtime.store.headCursor() == before)
        }
    }

    /// The upload form carries its security token as its first field, not in the address (where browser history
    /// and proxy logs would keep it): a statement is imported only when the form's first field is the session's
    /// token; the token in the address, after the file, wrong, or in a first field too long to be one is refused
    /// with 403 and nothing is imported.
    @Test
    func theUploadFormsTokenIsItsFirstField() async throws {
        try await withLiveServer(.sqlite) { client, runtime in
            let anna = try await Self.annaSignedIn(client, runtime)
            let form = try await anna.send("/console/statements").text
            let action = try #require(form.range(of: "<form method=\"post\" action=\"/console/statements\" enctype=\"multipart/form-data\""), "\(form)")
            let token = try #require(form.range(of: "<input type=\"hidden\" name=\"_csrf\" value=\"\(anna.formToken)\">", range: action.upperBound..<form.endIndex))
            let file = try #require(form.range(of: "name=\"statement\" type=\"file\"", range: action.upperBound..<form.endIndex))
            #expect(token.upperBound <= file.lowerBound && !form.contains("_csrf="), "\(form)")

            let yesterday = runtime.profiles.policy.calendar.date(at: runtime.now()).addingDays(-1)
            let before = try await runtime.store.headCursor()
            func field(_ name: String, _ value: String) -> String { "--XYZ\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n" }
            func statement(_ reference: String) -> String {
                "--XYZ\r\nContent-Disposition: form-data; name=\"statement\"; filename=\"day.csv\"\r\nContent-Type: text/csv\r\n\r\n"
                    + "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n\(yesterday),30.00,EUR,Bo,,gift,\(reference)\n\r\n"
            }
            func upload(_ parts: String, address: String = "/console/statements") async throws -> TestResponse {
                var headers = HTTPFields()
                headers[.contentType] = "multipart/form-data; boundary=XYZ"
                headers[.cookie] = anna.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
                return try await client.execute(uri: address, method: .post, headers: headers, body: ByteBuffer(string: parts + "--XYZ--\r\n"))
            }
            let refusals = [
                ("in the address", try await upload(statement("T-1"), address: "/console/statements?_csrf=\(anna.formToken)")),
                ("after the file", try await upload(statement("T-2") + field("_csrf", anna.formToken))),
                ("wrong", try await upload(field("_csrf", String(anna.formToken.reversed())) + statement("T-3"))),
                ("missing", try await upload(statement("T-4"))),
                ("too long to be one", try await upload(field("_csrf", anna.formToken + String(repeating: "x", count: 5_000)) + statement("T-5"))),
                ("second", try await upload(field("note", "hello") + field("_csrf", anna.formToken) + statement("T-6"))),
            ]
            for (how, answer) in refusals {
                #expect(answer.status == .forbidden && answer.text.contains("This form has expired"), "the token \(how): \(answer.status) \(answer.text)")
            }
            #expect(try await runtime.store.headCursor() == before, "a refused upload imported something")
            // A multipart form without a boundary is told on a page, as every console failure is.
            var noBoundary = HTTPFields()
            noBoundary[.contentType] = "multipart/form-data"
            noBoundary[.cookie] = anna.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
            let unreadable = try await client.execute(
                uri: "/console/statements", method: .post, headers: noBoundary, body: ByteBuffer(string: field("_csrf", anna.formToken) + statement("T-8") + "--XYZ--\r\n")
            )
            #expect(unreadable.status == .badRequest && unreadable.headers[.contentType]?.hasPrefix("text/html") == true, "\(unreadable.status) \(unreadable.text)")
            #expect(unreadable.text.contains("A multipart upload needs a boundary. Go back and choose the file again."), "\(unreadable.text)")

            let imported = try await upload(field("_csrf", anna.formToken) + statement("T-7"))
            #expect(imported.status == .created && imported.text.contains("Statement imported"), "\(imported.status) \(imported.text)")
            #expect(try await runtime.store.headCursor() != before)
        }
    }

    /// A returned transfer that matches no payment stays on the Statements page for staff to trace.
    @Test
    func anUnmatchedReturnIsListedOnTheStatementsPage() async throws {
        try await withLiveServer(.sqlite) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: Self.password)
            let anna = Browser(client)
            try await anna.signIn("anna@example.org")
            #expect(!(try await anna.send("/console/statements").text.contains("match no payment")))
            typealias T = CamtStatementBuilder.Transaction
            let file = try CamtStatementBuilder(statements: [.init(id: "RET-2", iban: "NL91ABNA0417164300", entries: [
                .init(credit: false, date: "2026-03-05", bankReference: "RT-9", transactions: [T(amount: "60.00", endToEndID: "E2E-ELSEWHERE", payerName: "Dan", returnReason: "MD06")]),
            ])]).write()
            _ = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
            let page = try await anna.send("/console/statements")
            #expect(page.text.contains("Returned transfers that match no payment") && page.text.contains("€60.00") && page.text.contains("MD06"), "\(page.text)")
        }
    }

    @Test
    func aSessionExpiresAndRepeatedFailuresSlowSignInDown() async throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let clock = TestClock(start)
        let runtime = try await TestRuntime.make(.sqlite, now: clock.function)
        _ = try await runtime.staffUsers.add(name: "Ben", email: "ben@example.org", password: Self.password)
        try await buildApplication(runtime: runtime).test(.live) { client in
            let ben = Browser(client)
            #expect(try await ben.signIn("ben@example.org").status == .seeOther)
            #expect(try await ben.send("/console").status == .ok)
            clock.set(start.addingTimeInterval(StaffUsers.sessionLifetime - 1))
            #expect(try await ben.send("/console").status == .ok)
            clock.set(start.addingTimeInterval(StaffUsers.sessionLifetime + 1))
            let expired = try await ben.send("/console/listings")
            #expect(expired.status == .seeOther && expired.headers[.location] == "/console/sign-in?next=/console/listings")

            // Three failures in a row, then even the right password must wait, and is told how long.
            let guesser = Browser(client)
            for _ in 0..<StaffUsers.failuresBeforeSlowdown {
                #expect(try await guesser.signIn("ben@example.org", "wrong password 1").status == .unauthorized)
            }
            let slowed = try await guesser.signIn("ben@example.org")
            #expect(slowed.status == .tooManyRequests && slowed.headers[.retryAfter] == "2" && slowed.text.contains("Please wait 2 seconds"))
            clock.set(start.addingTimeInterval(StaffUsers.sessionLifetime + 3))
            #expect(try await guesser.signIn("ben@example.org").status == .seeOther)
        }
        await runtime.close()
    }
}
