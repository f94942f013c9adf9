import Directory
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

/// Promises the README makes that a user will try literally, each through the real server on loopback: the
/// sign-in slowdown past its first 2 seconds, the Settings page's staff users and API keys, waiver revocation
/// and the reversal kinds over HTTP, moving a payment that was taken back, and the read models' lag in
/// `/metrics`.
@Suite("README promises, more")
struct ReadmePromiseMoreTests {
    // MARK: Directory delivery retries

    /// "`LEDGER_DIRECTORY_RETRY_SECONDS` … pauses (1 to 20 of them, each 0 to 86400 seconds) before each retry
    /// of a failed delivery": twenty pauses of a day are taken (the attempt after the twentieth is the last),
    /// one pause of 0 too; a twenty-first pause stops start-up with a message naming the variable.
    @Test
    func theDirectoryRetryScheduleTakesOneToTwentyPausesOfZeroToADay() async throws {
        let twenty = Array(repeating: "86400", count: 20).joined(separator: ",")
        let longest = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada", "LEDGER_DIRECTORY_RETRY_SECONDS": twenty])
        let days: [Int64] = Array(repeating: 86_400, count: 20)
        #expect(longest.directoryRetryPolicy.pausesSeconds == days)
        #expect(longest.directoryRetryPolicy.attemptsMax == 21)
        let once = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada", "LEDGER_DIRECTORY_RETRY_SECONDS": "0"])
        #expect(once.directoryRetryPolicy.pausesSeconds == [0] && once.directoryRetryPolicy.attemptsMax == 2)
        do {
            _ = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada", "LEDGER_DIRECTORY_RETRY_SECONDS": twenty + ",5"])
            Issue.record("21 pauses were accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix("LEDGER_DIRECTORY_RETRY_SECONDS: "), "\(error)")
        }
    }

    // MARK: Sign-in slowdown

    /// "After 3 failed sign-ins in a row for one address, the next attempt must wait 2 seconds after the last
    /// failure, then 4, 8, … up to 5 minutes."
    @Test
    func theSignInWaitDoublesFromTwoSecondsAndStopsAtFiveMinutes() {
        #expect(StaffUsers.failuresBeforeSlowdown == 3)
        #expect(StaffUsers.slowdownMaxSeconds == 300)
        let waits = (3...15).map { StaffUsers.slowdown(afterFailures: $0) }
        #expect(waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300, 300])
        #expect(StaffUsers.slowdown(afterFailures: 1_000_000) == 300)
    }

    /// Over HTTP: each failure after the wait doubles the next wait (429 with `Retry-After`, even for the right
    /// password) until it stays at 5 minutes; once waited out, the right password gets in, and that clears
    /// the count.
    @Test(arguments: Backend.allCases)
    func eachFurtherFailedSignInDoublesTheWaitUpToFiveMinutes(backend: Backend) async throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let clock = TestClock(start)
        let runtime = try await TestRuntime.make(backend, now: clock.function)
        do {
            _ = try await runtime.staffUsers.add(name: "Ben", email: "ben@example.org", password: ConsoleTests.password)
            try await buildApplication(runtime: runtime).test(.live) { client in
                let guesser = ConsoleTests.Browser(client)
                var now = start
                for _ in 0..<3 {
                    #expect(try await guesser.signIn("ben@example.org", "wrong password 1").status == .unauthorized)
                }
                for wait in [2, 4, 8, 16, 32, 64, 128, 256, 300, 300] {
                    // Even the right password waits, and is told how long.
                    let slowed = try await guesser.signIn("ben@example.org")
                    #expect(slowed.status == .tooManyRequests, "wait \(wait): \(slowed.status)")
                    #expect(slowed.headers[.retryAfter] == String(wait), "wait \(wait): \(slowed.headers[.retryAfter] ?? "none")")
                    #expect(slowed.text.contains("Please wait \(wait) seconds"), "wait \(wait)")
                    // A second before the wait is over: still refused.
                    now += TimeInterval(wait - 1)
                    clock.set(now)
                    let almost = try await guesser.signIn("ben@example.org")
                    #expect(almost.status == .tooManyRequests && almost.headers[.retryAfter] == "1", "wait \(wait), a second left: \(almost.status)")
                    // Waited out: the password is checked again; a wrong one is one more failure.
                    now += 1
                    clock.set(now)
                    #expect(try await guesser.signIn("ben@example.org", "wrong password 1").status == .unauthorized, "after waiting \(wait)")
                }
                now += 300
                clock.set(now)
                #expect(try await guesser.signIn("ben@example.org").status == .seeOther, "five minutes after the last failure")
                // The success cleared the count: one failure now slows nobody down.
                let other = ConsoleTests.Browser(client)
                #expect(try await other.signIn("ben@example.org", "wrong password 1").status == .unauthorized)
                #expect(try await other.signIn("ben@example.org").status == .seeOther)
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    // MARK: The Settings page

    /// "Users can also be added on the Settings page": a signed-in person adds one with the form (which
    /// carries the session's token), and the new user signs in with that password. Signed out, with an API
    /// key, or without the form's token, nothing is added.
    @Test(arguments: Backend.allCases)
    func aSignedInPersonAddsAStaffUserOnTheSettingsPageAndTheyCanSignIn(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let benPassword = "a long passphrase for ben"
            let ben = ["name": "Ben Meyer", "email": "Ben@Example.org", "password": benPassword]
            func emails() async throws -> [String] { try await runtime.staffUsers.list().map(\.email).sorted() }

            // Signed out: sent to sign-in, nobody added.
            let stranger = ConsoleTests.Browser(client)
            let signedOut = try await Self.submit(stranger, "/console/settings/users", ben, withToken: false)
            #expect(signedOut.status == .seeOther && signedOut.headers[.location]?.hasPrefix("/console/sign-in") == true, "\(signedOut.status)")
            // An API key opens no console page, and adds nobody.
            let opsKey = try await runtime.apiKeys.create(name: "Ops", role: .staff).key
            var withKey = bearer(opsKey)
            withKey[.contentType] = "application/x-www-form-urlencoded"
            let byKey = try await client.execute(
                uri: "/console/settings/users", method: .post, headers: withKey,
                body: ByteBuffer(string: "name=Eve&email=eve%40example.org&password=a%20long%20passphrase%20for%20eve")
            )
            #expect(byKey.status == .seeOther && byKey.headers[.location]?.hasPrefix("/console/sign-in") == true, "\(byKey.status)")
            #expect(try await emails() == ["anna@example.org"])

            // Signed in: the page lists the users and holds the form, with the session's token.
            let anna = ConsoleTests.Browser(client)
            #expect(try await anna.signIn("anna@example.org").status == .seeOther)
            let settings = try await anna.send("/console/settings")
            #expect(settings.status == .ok)
            #expect(settings.text.contains(#"<form method="post" action="/console/settings/users""#), "\(settings.text)")
            #expect(settings.text.contains(#"name="_csrf" value="\#(anna.formToken)""#))
            #expect(settings.text.contains("<td>Anna Berger</td><td>anna@example.org</td><td>can sign in</td>"), "\(settings.text)")

            // Without the form's token: 403, and nothing is added.
            let withoutToken = try await Self.submit(anna, "/console/settings/users", ben, withToken: false)
            #expect(withoutToken.status == .forbidden && withoutToken.text.contains("This form has expired"), "\(withoutToken.status)")
            #expect(try await emails() == ["anna@example.org"])

            // With it: added (the address in lower case), said in words, and listed.
            let added = try await Self.submit(anna, "/console/settings/users", ben)
            #expect(added.status == .seeOther && added.headers[.location] == "/console/settings", "\(added.status)")
            let after = try await anna.send("/console/settings")
            #expect(after.text.contains("Ben Meyer can now sign in as ben@example.org."), "\(after.text)")
            #expect(after.text.contains("<td>Ben Meyer</td><td>ben@example.org</td><td>can sign in</td>"), "\(after.text)")
            #expect(try await emails() == ["anna@example.org", "ben@example.org"])

            // Ben signs in with the password Anna gave, and the console names him.
            let benBrowser = ConsoleTests.Browser(client)
            #expect(try await benBrowser.signIn("ben@example.org", benPassword).status == .seeOther)
            let benToday = try await benBrowser.send("/console")
            #expect(benToday.status == .ok && benToday.text.contains("Ben Meyer"))
        }
    }

    /// The form refuses, in words and changing nothing, what the README's sign-in rules refuse: a password
    /// outside 12 to 72 bytes or with a control character, an address that is not one, a name with markup,
    /// an address that already has a user. Bytes count, not characters: an accented letter counts two.
    @Test(arguments: Backend.allCases)
    func theSettingsFormRefusesBadUsersInWordsAndCountsPasswordBytes(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let anna = ConsoleTests.Browser(client)
            #expect(try await anna.signIn("anna@example.org").status == .seeOther)
            let accented = "\u{E9}"
            let passwordRule = "Nothing was changed: A password is 12 to 72 bytes"
            let refusals: [([String: String], String)] = [
                (["name": "Dora", "email": "dora@example.org", "password": "eleven char"], passwordRule),
                (["name": "Dora", "email": "dora@example.org", "password": String(repeating: accented, count: 36) + "a"], passwordRule),
                (["name": "Dora", "email": "dora@example.org", "password": "a tab\tin a long password"], passwordRule),
                (["name": "Dora", "email": "dora@example", "password": "a long enough password"], "is not an e-mail address like anna@example.org"),
                (["name": "<b>Dora</b>", "email": "dora@example.org", "password": "a long enough password"], "Nothing was changed: A name is 1 to 100 characters of plain text"),
                (["name": "Anna Again", "email": "ANNA@example.org", "password": "a long enough password"], "Nothing was changed: There is already a user with the e-mail address anna@example.org."),
            ]
            for (form, words) in refusals {
                let refused = try await Self.submit(anna, "/console/settings/users", form)
                #expect(refused.status == .seeOther && refused.headers[.location] == "/console/settings", "\(form): \(refused.status)")
                let page = try await anna.send("/console/settings")
                #expect(page.text.contains(words), "\(form): \(page.text)")
                // Shown as an alert, never in the box that says what was done.
                #expect(page.text.contains(#"<p class="error" role="alert">"#) && !page.text.contains(#"<p class="notice""#), "\(form): \(page.text)")
                #expect(!page.text.contains("can now sign in"), "\(form)")
            }
            #expect(try await runtime.staffUsers.list().map(\.email) == ["anna@example.org"])

            // 11 characters that are 12 bytes, and 36 accented letters that are 72 bytes, are accepted, and open.
            let accepted = [
                ("Dan", "dan@example.org", "passeparto" + accented),
                ("Cleo", "cleo@example.org", String(repeating: accented, count: 36)),
            ]
            for (name, email, password) in accepted {
                #expect(password.utf8.count == (name == "Dan" ? 12 : 72))
                let added = try await Self.submit(anna, "/console/settings/users", ["name": name, "email": email, "password": password])
                #expect(added.status == .seeOther && added.headers[.location] == "/console/settings", "\(name): \(added.status)")
                let page = try await anna.send("/console/settings")
                #expect(page.text.contains("\(name) can now sign in as \(email)."), "\(name): \(page.text)")
                #expect(page.text.contains(#"<p class="notice" role="status">"#) && !page.text.contains(#"role="alert""#), "\(name): \(page.text)")
                _ = try await runtime.staffUsers.signIn(email: email, password: password)
            }
            #expect(try await runtime.staffUsers.list().map(\.email).sorted() == ["anna@example.org", "cleo@example.org", "dan@example.org"])
        }
    }

    /// "*Settings* (staff users and API keys)": a key made there is shown once and works; one without a role or
    /// a name is refused in words; a revoked key opens nothing.
    @Test(arguments: Backend.allCases)
    func apiKeysAreCreatedShownOnceAndRevokedOnTheSettingsPage(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let anna = ConsoleTests.Browser(client)
            #expect(try await anna.signIn("anna@example.org").status == .seeOther)

            let created = try await Self.submit(anna, "/console/settings/keys", ["name": "Website", "role": "website"])
            #expect(created.status == .created, "\(created.text)")
            let key = try #require(Self.text(between: #"<code class="key">"#, and: "</code>", in: created.text))
            #expect(key.hasPrefix("llk_"))
            let whoami = try await client.execute(uri: "/api/v1/whoami", method: .get, headers: bearer(key))
            #expect(whoami.status == .ok && whoami.json["name"] as? String == "Website" && whoami.json["role"] as? String == "website", "\(whoami.text)")
            let settings = try await anna.send("/console/settings")
            #expect(settings.text.contains("<td>Website</td><td>website</td>"), "\(settings.text)")
            #expect(!settings.text.contains(key), "the key is shown only once")

            let noRole = try await Self.submit(anna, "/console/settings/keys", ["name": "Nobody", "role": "admin"])
            #expect(noRole.status == .unprocessableContent && noRole.text.contains("Choose what the key is for."), "\(noRole.status)")
            let noName = try await Self.submit(anna, "/console/settings/keys", ["name": " ", "role": "staff"])
            #expect(noName.status == .unprocessableContent && noName.text.contains("A key needs a name of 1 to 100 bytes."), "\(noName.status)")
            #expect(try await runtime.apiKeys.list().count == 1)

            let keyID = try #require(whoami.json["keyId"] as? String)
            let revoked = try await Self.submit(anna, "/console/settings/keys/\(keyID)/revoke", [:])
            #expect(revoked.status == .seeOther && revoked.headers[.location] == "/console/settings", "\(revoked.status)")
            #expect(try await anna.send("/console/settings").text.contains("The key is revoked; it opens nothing any more."))
            #expect(try await client.execute(uri: "/api/v1/whoami", method: .get, headers: bearer(key)).status == .unauthorized)
        }
    }

    // MARK: Waivers and reversals over HTTP

    /// `POST $U/profiles/ada-1/waivers/WAIVER_ID/revoke -d '{"reason":"paid after all"}'` ends the waiver: the
    /// answer carries the new listing, hidden as `waiver_ended`. An unknown waiver (404), a blank reason (422)
    /// or a field the request does not take (400) is refused with a problem and writes nothing.
    @Test(arguments: Backend.allCases)
    func aWaiverIsRevokedOverHTTPAndTheListingSaysItEnded(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            try await session.certifiedProfile("wv-1")
            let today = runtime.today
            let granted = try await session.post("/api/v1/profiles/wv-1/waivers", [
                "waiverId": "hardship-1", "from": today.description, "through": today.addingDays(90).description, "reason": "hardship",
            ])
            #expect(granted.status == .created, "\(granted.text)")
            let waived = try #require(granted.json["listing"] as? [String: Any])
            #expect(waived["status"] as? String == "waived" && waived["visible"] as? Bool == true, "\(granted.text)")
            #expect((waived["basis"] as? [String: Any])?["waiverID"] as? String == "hardship-1")
            // The same grant again records no second waiver (200); the same id with other dates is refused (422).
            let grantedVersion = try await runtime.profiles.load(try ProfileID("wv-1")).state.version
            let grantedAgain = try await session.post("/api/v1/profiles/wv-1/waivers", [
                "waiverId": "hardship-1", "from": today.description, "through": today.addingDays(90).description, "reason": "hardship",
            ])
            #expect(grantedAgain.status == .ok && grantedAgain.json["appended"] as? [String] == [], "\(grantedAgain.text)")
            let otherDates = try await session.post("/api/v1/profiles/wv-1/waivers", [
                "waiverId": "hardship-1", "from": today.description, "through": today.addingDays(30).description, "reason": "hardship",
            ])
            expectProblem(otherDates, .unprocessableContent, "invalid-argument")
            #expect(try await runtime.profiles.load(try ProfileID("wv-1")).state.version == grantedVersion)

            let version = try await runtime.profiles.load(try ProfileID("wv-1")).state.version
            let unknown = try await session.post("/api/v1/profiles/wv-1/waivers/no-such-waiver/revoke", ["reason": "paid after all"])
            expectProblem(unknown, .notFound, "waiver-not-found")
            let blank = try await session.post("/api/v1/profiles/wv-1/waivers/hardship-1/revoke", ["reason": "  "])
            expectProblem(blank, .unprocessableContent, "invalid-argument")
            let extraField = try await session.post("/api/v1/profiles/wv-1/waivers/hardship-1/revoke", ["reason": "paid after all", "note": "x"])
            expectProblem(extraField, .badRequest, "bad-request")
            let nobody = try await session.post("/api/v1/profiles/nobody-9/waivers/hardship-1/revoke", ["reason": "paid after all"])
            expectProblem(nobody, .notFound, "profile-not-found")
            #expect(try await runtime.profiles.load(try ProfileID("wv-1")).state.version == version, "a refused revocation wrote something")
            #expect(try await session.get("/api/v1/profiles/wv-1/listing").json["status"] as? String == "waived")

            let revoked = try await session.post("/api/v1/profiles/wv-1/waivers/hardship-1/revoke", ["reason": "paid after all"])
            #expect(revoked.status == .ok, "\(revoked.text)")
            #expect(revoked.json["appended"] as? [String] == ["WaiverRevoked", "ListingVisibilityChanged"], "\(revoked.text)")
            let listing = try #require(revoked.json["listing"] as? [String: Any])
            #expect(listing["visible"] as? Bool == false && listing["reason"] as? String == "waiver_ended", "\(revoked.text)")
            #expect(listing["status"] as? String != nil && listing["credit"] as? String == "0.00", "\(revoked.text)")
            // The same request again (a retry after a lost answer) changes nothing and says so.
            let revokedVersion = try await runtime.profiles.load(try ProfileID("wv-1")).state.version
            let again = try await session.post("/api/v1/profiles/wv-1/waivers/hardship-1/revoke", ["reason": "paid after all"])
            #expect(again.status == .ok && again.json["appended"] as? [String] == [], "\(again.text)")
            // Granting a revoked waiver again under its id is refused: it stays revoked, and the client must not be told otherwise.
            let grantRevoked = try await session.post("/api/v1/profiles/wv-1/waivers", [
                "waiverId": "hardship-1", "from": today.description, "through": today.addingDays(90).description, "reason": "hardship",
            ])
            expectProblem(grantRevoked, .unprocessableContent, "invalid-argument")
            #expect(try await runtime.profiles.load(try ProfileID("wv-1")).state.version == revokedVersion, "a second revocation wrote something")
            let now = try await session.get("/api/v1/profiles/wv-1/listing")
            #expect(now.json["visible"] as? Bool == false && now.json["reason"] as? String == "waiver_ended", "\(now.text)")
            #expect(try await session.get("/api/v1/profiles/wv-1/timeline").text.contains("Waiver hardship-1 revoked: paid after all"))
        }
    }

    /// `POST $U/profiles/ada-1/allocations/PAYMENT_ID/reverse`: "`kind` is `refund`, `chargeback` or
    /// `bank_return`. A `correction` is refused (422)". Each documented kind takes the allocation back (the
    /// listing hides, the payment shows the kind); a correction, or a kind not in the list, writes nothing.
    @Test(arguments: Backend.allCases)
    func eachReversalKindByHandAnswersAsDocumentedAndACorrectionIsRefused(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let today = runtime.today.description
            for (index, kind) in ["refund", "chargeback", "bank_return"].enumerated() {
                let id = "rk-\(index + 1)"
                try await session.certifiedProfile(id)
                let paid = try await session.post("/api/v1/profiles/\(id)/offline-payments", ["amount": "125.00", "date": today, "purpose": "listing", "note": "cash"])
                #expect(paid.status == .created, "\(paid.text)")
                let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init))
                let uri = "/api/v1/profiles/\(id)/allocations/\(paymentID)/reverse"

                if index == 0 {
                    let version = try await runtime.profiles.load(try ProfileID(id)).state.version
                    let correction = try await session.post(uri, ["kind": "correction", "reason": "wrong profile"])
                    expectProblem(correction, .unprocessableContent, "invalid-argument")
                    #expect((correction.json["detail"] as? String)?.contains("cannot be made by hand") == true, "\(correction.text)")
                    let otherKind = try await session.post(uri, ["kind": "void", "reason": "typed twice"])
                    expectProblem(otherKind, .badRequest, "bad-request")
                    #expect(try await runtime.profiles.load(try ProfileID(id)).state.version == version, "a refused reversal wrote something")
                    #expect(try await session.get("/api/v1/profiles/\(id)/listing").json["visible"] as? Bool == true)
                }

                let reversed = try await session.post(uri, ["kind": kind, "reason": "money given back outside the ledger"])
                #expect(reversed.status == .ok, "\(kind): \(reversed.text)")
                #expect(reversed.json["appended"] as? [String] == ["AllocationReversed", "ListingVisibilityChanged"], "\(kind): \(reversed.text)")
                let listing = try #require(reversed.json["listing"] as? [String: Any])
                #expect(listing["visible"] as? Bool == false && listing["reason"] as? String == "refunded", "\(kind): \(reversed.text)")
                let view = try await session.get("/api/v1/payments/\(paymentID)").json
                let allocations = view["allocations"] as? [[String: Any]] ?? []
                #expect(allocations.first?["state"] as? String == "reversed" && allocations.first?["reversedAs"] as? String == kind, "\(kind): \(view)")
            }
        }
    }

    // MARK: Moving a payment that was taken back

    /// "A payment that was refunded, returned or charged back cannot be moved (409)." A card payment moves
    /// while it counts; refunded in full it no longer does; a card payment taken by a dispute neither. The
    /// refusal writes nothing.
    @Test(arguments: Backend.allCases)
    func aRefundedOrChargedBackCardPaymentCannotBeMoved(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            func listed(_ id: String) async throws -> Bool? {
                try await world.get("/api/v1/profiles/\(id)/listing").json["visible"] as? Bool
            }
            let refundedIntent = try await world.paidByCard("mv-1")
            try await world.certifiedProfile("mv-2")
            let refunded = "card-\(refundedIntent)"
            // While it counts, it moves: the refusal below is the refund's, not the card's.
            let moved = try await world.post("/api/v1/payments/\(refunded)/reassign", world.staff, [
                "fromProfileId": "mv-1", "toProfileId": "mv-2", "reason": "paid for her colleague",
            ])
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(try await listed("mv-2") == true)

            world.provider.refundOutOfBand(refundedIntent, amount: nil)
            try await world.deliver(world.provider.chargeRefundedEvent(refundedIntent))
            #expect(try await listed("mv-2") == false, "the refund took back what the payment bought")
            let beforeRefused = try await Self.versions(world.runtime, profiles: ["mv-1", "mv-2"], payment: refunded)
            let afterRefund = try await world.post("/api/v1/payments/\(refunded)/reassign", world.staff, [
                "fromProfileId": "mv-2", "toProfileId": "mv-1", "reason": "it was hers after all",
            ])
            expectProblem(afterRefund, .conflict, "not-correctable")
            #expect(try await Self.versions(world.runtime, profiles: ["mv-1", "mv-2"], payment: refunded) == beforeRefused, "a refused move wrote something")
            #expect(try await listed("mv-1") == false)

            let disputedIntent = try await world.paidByCard("mv-3")
            let disputed = "card-\(disputedIntent)"
            try await world.deliver(world.provider.disputeEvent(disputedIntent, type: "charge.dispute.created", status: "needs_response"))
            try await world.deliver(world.provider.disputeEvent(disputedIntent, type: "charge.dispute.funds_withdrawn", status: "needs_response"))
            #expect(try await listed("mv-3") == false, "the dispute took the money back")
            let beforeDisputed = try await Self.versions(world.runtime, profiles: ["mv-2", "mv-3"], payment: disputed)
            let afterChargeback = try await world.post("/api/v1/payments/\(disputed)/reassign", world.staff, [
                "fromProfileId": "mv-3", "toProfileId": "mv-2", "reason": "paid for a colleague",
            ])
            expectProblem(afterChargeback, .conflict, "not-correctable")
            #expect(try await Self.versions(world.runtime, profiles: ["mv-2", "mv-3"], payment: disputed) == beforeDisputed, "a refused move wrote something")
            #expect(try await listed("mv-2") == false)
        }
    }

    /// The same for a bank transfer the bank returned (found by its end-to-end id in the same statement): 409,
    /// nothing written; a transfer of the same statement that was not returned moves.
    @Test(arguments: Backend.allCases)
    func aReturnedTransferCannotBeMoved(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            for id in ["rt-1", "rt-2", "rt-3"] { try await session.certifiedProfile(id) }
            let today = runtime.today.description
            let rita = try Self.reference("rt-1")
            let theo = try Self.reference("rt-3")
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "RT-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: today, bankReference: "RT-B1", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-RT-1", payerName: "Rita", structuredReference: rita),
                ]),
                .init(date: today, bankReference: "RT-B2", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-RT-3", payerName: "Theo", structuredReference: theo),
                ]),
                .init(credit: false, date: today, bankReference: "RT-B3", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-RT-1", payerName: "Rita", returnReason: "AC04"),
                ]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(session.key), body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["matched"] as? Int == 2 && imported.json["returns"] as? Int == 1, "\(imported.text)")

            let returned = try #require(try await runtime.profiles.load(try ProfileID("rt-1")).state.allocations.first?.event.paymentID.rawValue)
            let kept = try #require(try await runtime.profiles.load(try ProfileID("rt-3")).state.allocations.first?.event.paymentID.rawValue)
            let view = try await session.get("/api/v1/payments/\(returned)").json
            #expect((view["allocations"] as? [[String: Any]])?.first?["reversedAs"] as? String == "bank_return", "\(view)")

            let before = try await Self.versions(runtime, profiles: ["rt-1", "rt-2"], payment: returned)
            let refused = try await session.post("/api/v1/payments/\(returned)/reassign", ["fromProfileId": "rt-1", "toProfileId": "rt-2", "reason": "paid for a colleague"])
            expectProblem(refused, .conflict, "not-correctable")
            #expect(try await Self.versions(runtime, profiles: ["rt-1", "rt-2"], payment: returned) == before, "a refused move wrote something")
            #expect(try await session.get("/api/v1/profiles/rt-2/listing").json["visible"] as? Bool == false)

            let moved = try await session.post("/api/v1/payments/\(kept)/reassign", ["fromProfileId": "rt-3", "toProfileId": "rt-2", "reason": "paid for a colleague"])
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(try await session.get("/api/v1/profiles/rt-2/listing").json["visible"] as? Bool == true)
        }
    }

    /// Read literally, the same holds for money staff recorded as given back by hand ("A reversal by hand is
    /// for money given back outside the ledger's view: `kind` is `refund`…"): that payment was refunded, so it
    /// cannot be moved (409), and the other profile is not listed on money that went back.
    @Test(arguments: Backend.allCases)
    func aPaymentStaffReversedByHandAsARefundCannotBeMoved(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            for id in ["hr-1", "hr-2"] { try await session.certifiedProfile(id) }
            let paid = try await session.post("/api/v1/profiles/hr-1/offline-payments", [
                "amount": "125.00", "date": runtime.today.description, "purpose": "listing", "note": "cash",
            ])
            #expect(paid.status == .created, "\(paid.text)")
            let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init))
            let reversed = try await session.post("/api/v1/profiles/hr-1/allocations/\(paymentID)/reverse", ["kind": "refund", "reason": "returned in cash"])
            #expect(reversed.status == .ok, "\(reversed.text)")

            let before = try await Self.versions(runtime, profiles: ["hr-1", "hr-2"], payment: paymentID)
            let refused = try await session.post("/api/v1/payments/\(paymentID)/reassign", ["fromProfileId": "hr-1", "toProfileId": "hr-2", "reason": "paid for a colleague"])
            expectProblem(refused, .conflict, "not-correctable")
            #expect(try await Self.versions(runtime, profiles: ["hr-1", "hr-2"], payment: paymentID) == before, "a refused move wrote something")
            #expect(try await session.get("/api/v1/profiles/hr-2/listing").json["visible"] as? Bool == false, "listed on money that was given back")
        }
    }

    /// "…nor one staff recorded as given back by hand … for the profile it moves from or to", and "A payment
    /// taken back, or given back by hand for a profile it pays for, cannot be reopened (409)": a payment split
    /// between two profiles, one part given back by hand, cannot be moved onto that part (the money would buy
    /// nobody anything); a resolved transfer given back by hand cannot be reopened and resolved for someone else.
    @Test(arguments: Backend.allCases)
    func aPaymentGivenBackByHandCannotBeMovedOntoThatProfileNorReopened(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            for id in ["hs-1", "hs-2", "hs-3"] { try await session.certifiedProfile(id) }
            let today = runtime.today.description
            let paid = try await session.post("/api/v1/profiles/hs-1/offline-payments", [
                "amount": "250.00", "date": today, "purpose": "listing", "note": "for two",
            ])
            #expect(paid.status == .created, "\(paid.text)")
            let split = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init))
            let shared = try await session.post("/api/v1/payments/\(split)/reassign", [
                "fromProfileId": "hs-1", "toProfileId": "hs-2", "amount": "125.00", "reason": "half was for a colleague",
            ])
            #expect(shared.status == .ok, "\(shared.text)")
            let givenBack = try await session.post("/api/v1/profiles/hs-2/allocations/\(split)/reverse", ["kind": "refund", "reason": "her half returned in cash"])
            #expect(givenBack.status == .ok, "\(givenBack.text)")
            let beforeMove = try await Self.versions(runtime, profiles: ["hs-1", "hs-2"], payment: split)
            let onto = try await session.post("/api/v1/payments/\(split)/reassign", ["fromProfileId": "hs-1", "toProfileId": "hs-2", "reason": "all of it was hers"])
            expectProblem(onto, .conflict, "not-correctable")
            #expect((onto.json["detail"] as? String)?.contains("hs-2") == true, "\(onto.text)")
            #expect(try await Self.versions(runtime, profiles: ["hs-1", "hs-2"], payment: split) == beforeMove, "a refused move wrote something")
            #expect(try await session.get("/api/v1/profiles/hs-1/listing").json["visible"] as? Bool == true, "hs-1's half still counts")

            // A transfer without a reference, resolved for hs-3, then given back by hand.
            let xml = CamtStatementBuilder(statements: [.init(id: "HS-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: today, bankReference: "HS-1", transactions: [.init(amount: "125.00", payerName: "Someone", text: "membership")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(session.key), body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
            let queue = try JSONSerialization.jsonObject(with: Data(try await session.get("/api/v1/reconciliation/exceptions").text.utf8)) as? [[String: Any]] ?? []
            let held = try #require(queue.first?["paymentId"] as? String)
            let resolved = try await session.post("/api/v1/reconciliation/exceptions/\(held)/resolve", ["resolution": "allocate", "profileId": "hs-3", "reason": "her transfer"])
            #expect(resolved.status == .ok, "\(resolved.text)")
            let returned = try await session.post("/api/v1/profiles/hs-3/allocations/\(held)/reverse", ["kind": "refund", "reason": "paid back by hand"])
            #expect(returned.status == .ok, "\(returned.text)")
            let beforeReopen = try await Self.versions(runtime, profiles: ["hs-3"], payment: held)
            let reopened = try await session.post("/api/v1/reconciliation/exceptions/\(held)/reopen", ["reason": "the guess was wrong"])
            expectProblem(reopened, .conflict, "not-correctable")
            #expect(try await Self.versions(runtime, profiles: ["hs-3"], payment: held) == beforeReopen, "a refused reopen wrote something")
        }
    }

    // MARK: Metrics

    /// "`GET /metrics` — Prometheus text: `ledger_http_requests_total`, `ledger_http_request_duration_seconds`,
    /// `ledger_events_appended_total`, `ledger_subscription_lag_positions`": all four are there, the lag as a
    /// gauge with a reading for each of the five read models. (Names and readings only: what a lag reads is the
    /// metrics' own tests' business.)
    @Test(arguments: Backend.allCases)
    func metricsNameTheFourFamiliesAndALagGaugeForEachReadModel(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            try await session.certifiedProfile("mx-1")
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            let exposition = metrics.text
            for metric in ["ledger_http_requests_total", "ledger_http_request_duration_seconds", "ledger_events_appended_total", "ledger_subscription_lag_positions"] {
                #expect(exposition.contains("# TYPE \(metric) "), "\(metric) is missing: \(exposition)")
            }
            #expect(exposition.contains("# TYPE ledger_subscription_lag_positions gauge"), "\(exposition)")
            for name in ["listing-status", "payment-views", "books", "profile-search", "listing-history"] {
                #expect(Self.lag(in: exposition, of: name) != nil, "\(name): \(exposition)")
            }
        }
    }

    // MARK: Helpers

    /// A profile's RF reference, as a payer types it.
    private static func reference(_ profile: String) throws -> String {
        CreditorReference.forProfile(try ProfileID(profile)).electronic
    }

    /// The profiles' stream versions and the payment's event count: equal before and after, nothing was written.
    private static func versions(_ runtime: LedgerRuntime, profiles: [String], payment: String) async throws -> [Int64] {
        var versions: [Int64] = []
        for id in profiles {
            versions.append(try await runtime.profiles.load(try ProfileID(id)).state.version)
        }
        versions.append(Int64(try await runtime.store.readStream(PaymentID(rawValue: payment).streamName, fromVersion: 1, limit: 100).count))
        return versions
    }

    /// The value of `ledger_subscription_lag_positions` for one read model, if exposed.
    private static func lag(in exposition: String, of projection: String) -> Double? {
        let prefix = "ledger_subscription_lag_positions{projection=\"\(projection)\"} "
        guard let line = exposition.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return Double(line.dropFirst(prefix.count))
    }

    /// The text between the first `start` and the next `end`.
    private static func text(between start: String, and end: String, in html: String) -> String? {
        guard let from = html.range(of: start), let to = html[from.upperBound...].range(of: end) else { return nil }
        return String(html[from.upperBound..<to.lowerBound])
    }

    /// Posts a URL-encoded form as the browser (its cookies, and its form token unless `withToken` is false),
    /// every byte outside ASCII letters and digits percent-encoded, and keeps the cookies the answer sets.
    private static func submit(
        _ browser: ConsoleTests.Browser, _ uri: String, _ fields: [String: String], withToken: Bool = true
    ) async throws -> TestResponse {
        var form = fields
        if withToken { form["_csrf"] = browser.formToken }
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }
        var headers = HTTPFields()
        headers[.contentType] = "application/x-www-form-urlencoded"
        if !browser.cookies.isEmpty { headers[.cookie] = browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        let body = form.map { "\(encoded($0.key))=\(encoded($0.value))" }.joined(separator: "&")
        let response = try await browser.client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
        for field in response.headers[values: .setCookie] {
            let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            if field.contains("Max-Age=0") { browser.cookies[String(pair[0])] = nil } else { browser.cookies[String(pair[0])] = String(pair[1]) }
        }
        return response
    }
}
