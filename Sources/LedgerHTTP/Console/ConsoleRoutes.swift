import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerService
import Logging
import NIOCore

/// The staff console: server-rendered pages under `/console`, for one part-time person.
///
/// Every action is a plain form (POST, then a redirect to a page that says what happened), so everything works
/// with JavaScript off; the script only adds an upload progress bar. Changes go through the same services as
/// the API, with the signed-in person as actor.
struct ConsoleRoutes {
    let runtime: LedgerRuntime

    var secure: Bool { runtime.configuration.mode == .production }
    var words: ConsoleWords { ConsoleWords(calendar: runtime.profiles.policy.calendar) }
    var today: LocalDate { runtime.profiles.policy.calendar.date(at: runtime.now()) }

    // MARK: Registration

    /// Sign-in, sign-out and the assets: reachable without a session.
    func registerPublicRoutes(on router: some RouterMethods<LedgerRequestContext>) {
        router.get("/") { _, _ in ConsolePage.redirect("/console") }
        router.get("console/assets/console.css") { _, _ in asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        router.get("console/assets/console.js") { _, _ in asset(ConsoleAssets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("console/sign-in") { request, _ in
            signInPage(next: request.uri.queryParameters["next"].map(String.init) ?? "/console", email: "", error: nil, status: .ok)
        }
        router.post("console/sign-in") { request, context in
            let form: [String: String]
            do {
                form = try ConsoleForm.parse(try await request.body.collect(upTo: context.bodyBytesMax))
            } catch let problem as Problem {
                return signInPage(
                    next: "/console", email: "", error: ConsoleWords.sentence(problem.detail) + " Type it again and sign in.", status: .badRequest
                )
            }
            let next = Self.safeNext(form["next"])
            guard let presented = form["_signin"], let expected = ConsoleCookie.value(request, ConsoleCookie.signIn),
                  ConsoleForm.constantTimeEquals(presented, expected) else {
                return signInPage(next: next, email: form["email"] ?? "", error: "The sign-in form had expired. Please try again.", status: .forbidden)
            }
            do {
                let (token, session) = try await runtime.staffUsers.signIn(email: form["email"] ?? "", password: form["password"] ?? "")
                var response = ConsolePage.redirect(next)
                response.headers.append(HTTPField(name: .setCookie, value: ConsoleCookie.header(
                    ConsoleCookie.session, token, maxAge: Int(session.expiresAt.timeIntervalSince(runtime.now())), secure: secure
                )))
                response.headers.append(HTTPField(name: .setCookie, value: ConsoleCookie.header(
                    ConsoleCookie.signIn, "", path: "/console/sign-in", maxAge: 0, sameSite: "Strict", secure: secure
                )))
                return response
            } catch let error as StaffUserError {
                var response = signInPage(
                    next: next, email: form["email"] ?? "", error: error.description,
                    status: error.code == .tooManyAttempts ? .tooManyRequests : .unauthorized
                )
                if error.code == .tooManyAttempts { response.headers[.retryAfter] = String(error.retryAfterSeconds) }
                return response
            }
        }
    }

    /// Every page and form that needs a signed-in person.
    func registerRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.post("sign-out") { request, _ in
            if let token = ConsoleCookie.value(request, ConsoleCookie.session) { try await runtime.staffUsers.signOut(token: token) }
            var response = ConsolePage.redirect("/console/sign-in")
            response.headers[.setCookie] = ConsoleCookie.header(ConsoleCookie.session, "", maxAge: 0, secure: secure)
            return response
        }
        group.get("") { request, context in try await todayPage(request, context) }
        registerExceptionRoutes(on: group)
        registerProfileRoutes(on: group)
        registerPaymentRoutes(on: group)
        group.get("listings") { request, context in try await listingsPage(request, context) }
        group.get("directory") { request, context in try await directoryPage(request, context) }
        group.post("directory/deliveries/:deliveryId/replay") { request, context in
            try await act(request, context, back: "/console/directory") {
                guard let id = Int64(try context.parameters.require("deliveryId")) else { throw ConsoleRefusal("That delivery does not exist.") }
                guard try await runtime.directory.replay(.delivery(id)) == 1 else { throw ConsoleRefusal("That change is no longer waiting to be sent again.") }
                return "The change will be sent to the directory again now."
            }
        }
        registerSettingsRoutes(on: group)
        group.get("statements") { request, context in try await statementsPage(request, context) }
        group.get("books") { request, context in try await booksPage(request, context) }
        group.get("books/journal") { request, context in try await booksDownload(request, context) }
        // A console address that names no page: a page that says so, as every console failure is.
        group.get("**") { _, context in
            page("message", "Not found", "/console", ["heading": "No such page", "message": "There is no page at that address in the console."], context, status: .notFound)
        }
        group.get("receipts/:number") { _, context in
            let number = try context.parameters.require("number")
            guard let document = try await runtime.receipts.document(printedNumber: number) else {
                return page("message", "Not found", "/console/payments", ["heading": "No such receipt", "message": "There is no receipt or credit note with that number."], context, status: .notFound)
            }
            var headers = ConsolePage.securityHeaders()
            headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
            let html = ReceiptRoutes(receipts: runtime.receipts, issuer: runtime.configuration.bankBeneficiaryName, calendar: runtime.profiles.policy.calendar).html(document)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
        }
    }

    /// Statement uploads: in a group with the statement parser's file limit.
    func registerUploadRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.post("statements") { request, context in
            do {
                let summary = try await BankRoutes.withUploadedStatement(request) { file in
                    try await runtime.bankImport.importFile(file, metadata: metadata(request, context))
                }
                let data: [String: Any] = [
                    "fileWords": "\(summary.statements) statement\(summary.statements == 1 ? "" : "s") in \(summary.format) format, \(summary.lines) line\(summary.lines == 1 ? "" : "s").",
                    "lines": summary.lines, "matched": summary.matched, "alreadyImported": summary.alreadyImported, "queued": summary.queued,
                    "returns": summary.returns, "unmatchedReturns": summary.unmatchedReturns, "debits": summary.debits, "notBooked": summary.notBooked,
                    "bookedOneByOne": summary.bookedOneByOne, "zeroAmount": summary.zeroAmount,
                ]
                return page("statement-result", "Statement imported", "/console/statements", data, context, status: .created)
            } catch {
                // A file that grew past the limit while it arrived (no length given up front) is told so in words.
                let tooLarge = ProblemMiddleware.problem(for: error, request: request, context: context).status == .contentTooLarge
                let words = tooLarge ? ConsoleWords.fileTooLarge(context.bodyBytesMax) : sentence(for: error, request, context)
                return try await statementsPage(request, context, error: words, status: status(for: error, request, context))
            }
        }
    }

    // MARK: Today

    func todayPage(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await runtime.catchUpStaffViews()
        let today = today
        let exceptions = try await runtime.paymentExceptions.waitingCount()
        let dead = try await runtime.directory.count(status: "dead")
        // A balance check is dated the day after the statement's last booking day (the balance at its start).
        // A CSV file states no balance, so the days statements brought count too.
        let lastChecked = try await runtime.books.balanceChecks(from: today.addingDays(-3_660), through: today.addingDays(1))
            .compactMap { LocalDate(iso: $0.date)?.addingDays(-1) }.max()
        let lastStatement = [lastChecked, try await runtime.bankImport.lastImportedDay(through: today)].compactMap { $0 }.max()
        let statementWords: String
        if let lastStatement {
            let days = lastStatement.days(until: today)
            statementWords = days > 7
                ? "No statement imported for \(days) days (the last ends \(ConsoleWords.date(lastStatement))). Import this week's."
                : "The last statement ends \(ConsoleWords.date(lastStatement)): up to date."
        } else {
            statementWords = "No bank statement has been imported yet."
        }
        let thisMonth = LocalDate(year: today.year, month: today.month, day: 1) ?? today
        var expiring: [[String: Any]] = []
        for (label, month, view) in [("This month", thisMonth, "this-month"), ("Next month", thisMonth.addingMonths(1), "next-month")] {
            let rows = try await runtime.listings.list(status: nil, expiringWithinDays: nil, expiringInMonth: month.monthText, limit: 11, offset: 0)
            expiring.append([
                "label": "\(label) (\(ConsoleWords.month(month.monthText)))", "view": view, "more": rows.count > 10, "total": rows.count > 10 ? "of them" : "",
                "rows": rows.prefix(10).map { ["profileId": $0.profileId, "displayName": $0.displayName, "until": ConsoleWords.date($0.paidThrough)] },
            ])
        }
        let firstMonth = thisMonth.addingMonths(-11)
        // Through the month's last day: whole months are read from the month totals.
        let income = try await runtime.books.income(from: firstMonth, through: thisMonth.addingMonths(1).addingDays(-1))
        let listed = try await runtime.lists.listedPerMonth(from: thisMonth.addingMonths(-23), through: thisMonth, calendar: runtime.profiles.policy.calendar)
        let data: [String: Any] = [
            "todayWords": "Today is \(ConsoleWords.date(today)).",
            "exceptionCount": exceptions, "exceptionWords": exceptions == 1 ? "payment waits for a decision" : "payments wait for a decision",
            "deadCount": dead, "deadWords": dead == 1 ? "change did not reach the directory" : "changes did not reach the directory",
            "statementWords": statementWords, "expiring": expiring,
            "incomeChart": ConsoleCharts.income(income, months: (0..<12).map { firstMonth.addingMonths($0).monthText }),
            "listedChart": ConsoleCharts.listed(listed),
        ]
        return page("today", "Today", "/console", data, context, request: request)
    }

    // MARK: Exceptions

    func registerExceptionRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.get("exceptions") { request, context in try await exceptionsPage(request, context) }
        group.post("exceptions/:paymentId/resolve") { request, context in
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            return try await act(request, context, back: "/console/exceptions") {
                let form = context.form
                guard let resolution = HoldResolution(rawValue: form["resolution"] ?? "") else { throw ConsoleRefusal("Choose a decision.") }
                var shares: [AllocationShare] = []
                for line in (form["shares"] ?? "").split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                    let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                    guard parts.count == 2, let amount = try? Money(parsing: String(parts[1]), currency: "EUR") else {
                        throw ConsoleRefusal("Each share is a profile id and an amount on one line, like “ada-1 125.00”; “\(line.prefix(40))” is not.")
                    }
                    shares.append(AllocationShare(profileID: try ProfileID(String(parts[0])), amount: amount))
                }
                // The one profile field is for a decision that allocates to one profile; the others take none (a
                // donation, money that is no contribution or to be paid back), whatever the field was filled with.
                if resolution == .allocate || resolution == .acceptShort, let profile = form["profileId"]?.trimmingCharacters(in: .whitespaces), !profile.isEmpty {
                    shares.append(AllocationShare(profileID: try ProfileID(profile), amount: .euros(minorUnits: 0)))
                }
                _ = try await runtime.payments.resolve(paymentID: paymentID, resolution: resolution, shares: shares, reason: form["reason"] ?? "", metadata: metadata(request, context))
                return "Recorded: the payment is \(ConsoleWords.resolution(resolution.rawValue))."
            }
        }
        group.post("exceptions/:paymentId/reopen") { request, context in
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            return try await act(request, context, back: "/console/exceptions?all=1") {
                _ = try await runtime.payments.reopen(paymentID: paymentID, reason: context.form["reason"] ?? "", metadata: metadata(request, context))
                return "The decision was taken back; the payment waits for a new one."
            }
        }
    }

    func exceptionsPage(_ request: Request, _ context: LedgerRequestContext, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        // (The queue takes in what the log holds itself.)
        let all = request.uri.queryParameters["all"] == "1"
        // Waiting ones as a queue, oldest first; with the resolved ones, the latest decision first. Pages of 100.
        let paging = ConsolePaging(request)
        let fetched = try await runtime.paymentExceptions.list(includeResolved: all, recentFirst: all, limit: paging.limit, offset: paging.offset)
        let rows = Array(fetched.prefix(ConsolePaging.size))
        let names = try await runtime.lists.displayNames(of: Set(rows.compactMap(\.suggestedProfileId)))
        let words = words
        var data: [String: Any] = [
            "all": all,
            "rows": rows.map { row -> [String: Any] in
                var item: [String: Any] = [
                    "paymentId": row.paymentId, "amountWords": ConsoleWords.euros(row.amount, currency: row.currency),
                    "methodWords": ConsoleWords.method(row.method), "raisedWords": words.instant(row.raisedAt),
                    "reason": ConsoleWords.sentence(row.reason), "resolved": row.resolved, "resolutionWords": ConsoleWords.resolutionWithReason(row.resolution),
                ]
                if let details = row.details { item["details"] = details }
                if let profileId = row.profileId { item["profileId"] = profileId }
                if let suggested = row.suggestedProfileId {
                    item["suggestedProfileId"] = suggested
                    item["suggestedName"] = "\(names[suggested].map { $0.isEmpty ? suggested : $0 } ?? suggested) (suggested)"
                }
                if row.method == PaymentMethod.bank.rawValue, let payout = ConsoleWords.payoutNamed(in: row.details) {
                    item["suggestedPayout"] = ["resolution": payout.resolution, "provider": payout.provider]
                }
                return item
            },
        ]
        paging.link(all ? "/console/exceptions?all=1&" : "/console/exceptions?", fetched: fetched.count, into: &data)
        return page("exceptions", "Exceptions", "/console/exceptions", data, context, request: request, error: error, status: status)
    }

    // MARK: Statements

    func statementsPage(_ request: Request, _ context: LedgerRequestContext, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let today = today
        let checks = try await runtime.books.balanceChecks(from: today.addingDays(-800), through: today.addingDays(1))
        let past = checks.reversed().prefix(50).map { check -> [String: Any] in
            [
                "date": ConsoleWords.date(LocalDate(iso: check.date)?.addingDays(-1).description ?? check.date), "statementId": check.statementID ?? "—", "account": check.account,
                "balance": ConsoleWords.money(Money(minorUnits: check.minorUnits, currency: check.currency)),
            ]
        }
        let returns = try await runtime.books.unmatchedReturns(limit: 20).map { item -> [String: Any] in
            ["date": ConsoleWords.date(item.date), "amount": ConsoleWords.money(item.amount), "words": item.words]
        }
        let data: [String: Any] = [
            "past": Array(past), "returns": returns, "hasReturns": !returns.isEmpty,
            "uploadBytesMax": runtime.uploadBytesMax, "tooLarge": ConsoleWords.fileTooLarge(runtime.uploadBytesMax),
        ]
        return page("statements", "Statements", "/console/statements", data, context, request: request, error: error, status: status)
    }

    // MARK: Books

    func booksPage(
        _ request: Request, _ context: LedgerRequestContext, error: String? = nil, status: HTTPResponse.Status = .ok,
        from: String? = nil, to: String? = nil
    ) async throws -> Response {
        let today = today
        let lastYear = today.year - 1
        let data: [String: Any] = [
            "from": from ?? "\(today.year)-01-01", "to": to ?? today.description,
            "lastYear": lastYear, "lastYearFrom": "\(lastYear)-01-01", "lastYearTo": "\(lastYear)-12-31",
            "thisYear": today.year, "thisYearFrom": "\(today.year)-01-01", "thisYearTo": today.description,
        ]
        return page("books", "Books", "/console/books", data, context, request: request, error: error, status: status)
    }

    /// The journal as a file to download: the same export as the API's `/books/journal`.
    func booksDownload(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        func field(_ name: String) -> String? {
            query[Substring(name)].map(String.init).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let (fromText, toText) = (field("from"), field("to"))
        func refuse(_ sentence: String) async throws -> Response {
            try await booksPage(request, context, error: sentence, status: .unprocessableContent, from: fromText.map { String($0.prefix(10)) }, to: toText.map { String($0.prefix(10)) })
        }
        guard let format = BooksExport.Format(rawValue: field("format") ?? "beancount") else {
            return try await refuse("Choose Beancount or CSV.")
        }
        func day(_ text: String?, _ what: String) throws -> LocalDate? {
            guard let text else { return nil }
            guard let date = LocalDate(iso: text), LedgerBounds.contains(date) else {
                throw ConsoleRefusal("The \(what) date must be a day like 2026-01-31 between 2000 and 2199; “\(text.prefix(20))” is not.")
            }
            return date
        }
        let from: LocalDate
        let to: LocalDate
        do {
            (from, to) = try await runtime.books.range(from: try day(fromText, "first"), through: try day(toText, "last"), today: today)
        } catch let refusal as ConsoleRefusal {
            return try await refuse(refusal.message)
        } catch DomainError.invalidDateRange {
            return try await refuse("The first day comes after the last.")
        }
        return BooksRoutes.journal(runtime.books, format, from: from, to: to)
    }

    // MARK: Profiles

    func registerProfileRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.get("profiles") { request, context in try await profilesPage(request, context) }
        group.post("profiles") { request, context in
            let form = context.form
            do {
                let profileID = try ProfileID((form["profileId"] ?? "").trimmingCharacters(in: .whitespaces))
                guard let kind = ProfileKind(rawValue: form["kind"] ?? "") else { throw ConsoleRefusal("Choose mediator or advocate.") }
                // Sent twice, the form gets the first sending's answer, not "registered already".
                return try await once(request, context, then: "/console/profiles/\(ConsoleForm.percentEncoded(profileID.rawValue))") {
                    _ = try await runtime.profiles.handle(
                        .register(kind: kind, displayName: form["displayName"] ?? "", contactEmail: form["contactEmail"] ?? ""),
                        profileID: profileID, metadata: metadata(request, context)
                    )
                    return "The profile is registered."
                }
            } catch {
                return try await profilesPage(request, context, error: sentence(for: error, request, context), status: status(for: error, request, context), form: form)
            }
        }
        group.get("profiles/:profileId") { request, context in try await profilePage(request, context) }
        group.post("profiles/:profileId/certification") { request, context in
            try await profileAction(request, context) { profileID in
                guard let action = CertificationAction(rawValue: context.form["action"] ?? "") else { throw ConsoleRefusal("Choose a change.") }
                _ = try await runtime.profiles.handle(.changeCertification(action, reason: context.form["reason"] ?? ""), profileID: profileID, metadata: metadata(request, context))
                return "The certification change is recorded."
            }
        }
        group.post("profiles/:profileId/waivers") { request, context in
            try await profileAction(request, context) { profileID in
                let from = try formDate(context.form["from"], "The first day of the waiver")
                let through = try formDate(context.form["through"], "The last day of the waiver")
                // Named by the form, so the same form sent again after an answer that never came grants it once.
                let waiverID = Self.formKeyUUID(context)?.uuidString.lowercased() ?? UUID().uuidString.lowercased()
                _ = try await runtime.profiles.handle(
                    .grantWaiver(waiverID: waiverID, from: from, through: through, reason: context.form["reason"] ?? ""),
                    profileID: profileID, metadata: metadata(request, context)
                )
                return "The waiver is granted."
            }
        }
        group.post("profiles/:profileId/waivers/:waiverId/revoke") { request, context in
            try await profileAction(request, context) { profileID in
                let waiverID = try pathParameter(context, "waiverId")
                _ = try await runtime.profiles.handle(.revokeWaiver(waiverID: waiverID, reason: context.form["reason"] ?? ""), profileID: profileID, metadata: metadata(request, context))
                return "The waiver is revoked."
            }
        }
        group.post("profiles/:profileId/offline-payments") { request, context in
            try await profileAction(request, context) { profileID in
                let form = context.form
                guard let amount = try? Money(parsing: (form["amount"] ?? "").trimmingCharacters(in: .whitespaces), currency: "EUR") else {
                    throw ConsoleRefusal("The amount must look like 125.00.")
                }
                guard let purpose = PaymentPurpose(rawValue: form["purpose"] ?? "") else { throw ConsoleRefusal("Choose what the payment was for.") }
                _ = try await runtime.profiles.recordOfflinePayment(
                    profileID: profileID, amount: amount, date: try formDate(form["date"], "The date received"), purpose: purpose,
                    note: form["note"] ?? "", metadata: metadata(request, context),
                    // Named by the form, as a waiver is: the same form sent again records the payment once.
                    idempotencyKey: Self.formKeyUUID(context).map { "console-form:\($0.uuidString.lowercased())" },
                    confirmDuplicate: form["confirmDuplicate"] == "yes"
                )
                return "The payment of \(ConsoleWords.money(amount)) is recorded."
            }
        }
    }

    func profilesPage(
        _ request: Request, _ context: LedgerRequestContext, error: String? = nil, status: HTTPResponse.Status = .ok, form: [String: String] = [:]
    ) async throws -> Response {
        let query = request.method == .get ? (request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces) : ""
        var data: [String: Any] = ["query": query, "form": form, "registerOpen": !form.isEmpty]
        if !query.isEmpty {
            guard query.utf8.count <= 200 else {
                return page("profiles", "Profiles", "/console/profiles", data, context, request: request, error: "A search is at most 200 characters.", status: .badRequest)
            }
            data["searched"] = true
            data["hits"] = try await runtime.lists.searchProfiles(query, limit: 50).map {
                ["profileId": $0.profileId, "displayName": $0.displayName, "contactEmail": $0.contactEmail, "kind": $0.kind]
            }
        }
        return page("profiles", "Profiles", "/console/profiles", data, context, request: request, error: error, status: status)
    }

    func profilePage(_ request: Request, _ context: LedgerRequestContext, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let profileID = try? ProfileID(try context.parameters.require("profileId")) else {
            return notAProfileID(context)
        }
        let loaded = try await runtime.profiles.load(profileID)
        guard loaded.state.isRegistered else {
            return page("message", "Not found", "/console/profiles", ["heading": "No such profile", "message": "No profile is registered as \(profileID.rawValue)."], context, status: .notFound)
        }
        let state = loaded.state
        let policy = runtime.profiles.policy
        let words = words
        let now = runtime.now()
        var data: [String: Any] = [
            "profileId": profileID.rawValue, "displayName": state.displayName, "contactEmail": state.contactEmail,
            "kindWords": state.kind?.rawValue ?? "", "certificationWords": state.currentCertification.rawValue,
            "reference": CreditorReference.forProfile(profileID).printed,
        ]
        let evaluation = state.evaluate(at: now, policy: policy)
        data["status"] = evaluation.status.rawValue
        data["statusSentence"] = try await statusSentence(state, evaluation, now: true)
        if let atText = request.uri.queryParameters["at"].map(String.init), !atText.isEmpty {
            data["at"] = atText
            if let day = LocalDate(iso: atText), LedgerBounds.contains(day) {
                let instant = policy.calendar.startOfDay(day.addingDays(1)).addingTimeInterval(-0.001)
                let then = state.evaluate(at: instant, policy: policy)
                data["asOfAnswer"] = "On \(ConsoleWords.date(day)): " + (try await statusSentence(state, then, now: false))
            } else {
                data["asOfAnswer"] = "“\(atText.prefix(40))” is not a day like 2026-01-31."
            }
        }
        data["waivers"] = state.waivers.filter { $0.revokedAt == nil }.map { waiver -> [String: Any] in
            ["waiverId": waiver.granted.waiverID, "waiverPath": ConsoleForm.pathSegment(waiver.granted.waiverID), "from": ConsoleWords.date(waiver.granted.from), "through": ConsoleWords.date(waiver.granted.through), "reason": waiver.granted.reason]
        }
        data["payments"] = state.allocations.reversed().map { record -> [String: Any] in
            var item: [String: Any] = [
                "paymentId": record.event.paymentID.rawValue, "amount": ConsoleWords.money(record.event.amount), "date": ConsoleWords.date(record.event.effectiveDate),
            ]
            if let reversed = record.reversedAs { item["reversed"] = reversed.rawValue.replacingOccurrences(of: "_", with: " ") }
            return item
        }
        data["timeline"] = loaded.timeline.reversed().map { entry -> [String: Any] in
            var item: [String: Any] = ["at": words.instant(entry.recordedAt), "summary": ConsoleWords.sentence(entry.summary)]
            if let actor = ConsoleWords.actor(entry.actor) { item["actor"] = actor }
            return item
        }
        return page("profile", state.displayName, "/console/profiles", data, context, request: request, error: error, status: status)
    }

    /// "Listed until 14 January 2027 — paid by card on 15 January 2026", and the like.
    func statusSentence(_ state: ProfileState, _ evaluation: ListingEvaluation, now: Bool) async throws -> String {
        let until = evaluation.paidThrough.map(ConsoleWords.date) ?? "—"
        switch evaluation.status {
        case .active, .grace:
            var sentence = evaluation.status == .grace ? "Listed, in its grace period: paid through \(until)" : "Listed until \(until)"
            if let last = evaluation.basis?.paymentIDs.last, let view = try await runtime.payments.view(last) {
                sentence += " — paid by \(ConsoleWords.method(view.method)) on \(ConsoleWords.date(view.effectiveDate))"
            }
            return sentence + "."
        case .waived:
            let waiver = state.waivers.first { $0.granted.waiverID == evaluation.basis?.waiverID }
            return "Listed by a waiver" + (waiver.map { " until \(ConsoleWords.date($0.granted.through)) (\($0.granted.reason))" } ?? "") + "."
        case .expired:
            return "Not listed: the contribution ran out" + (evaluation.paidThrough.map { " after \(ConsoleWords.date($0))" } ?? "") + "."
        case .pending, .suspended:
            return "Not listed: \(ConsoleWords.hiddenReason(evaluation.reason?.rawValue))."
        }
    }

    // MARK: Payments

    func registerPaymentRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.get("payments") { request, context in try await paymentsPage(request, context) }
        group.get("payments/:paymentId") { request, context in try await paymentPage(request, context) }
        group.post("payments/:paymentId/void") { request, context in
            try await paymentAction(request, context) { paymentID in
                _ = try await runtime.payments.void(paymentID: paymentID, reason: context.form["reason"] ?? "", metadata: metadata(request, context))
                return "The payment is voided; it no longer counts."
            }
        }
        group.post("payments/:paymentId/paid-back") { request, context in
            try await paymentAction(request, context) { paymentID in
                _ = try await runtime.payments.payBack(
                    paymentID: paymentID, lineKey: context.form["lineKey"] ?? "", note: context.form["note"] ?? "", metadata: metadata(request, context)
                )
                return "The payment is recorded as paid back; nothing more is owed to the payer."
            }
        }
        group.post("payments/:paymentId/pay-back-returned") { request, context in
            try await paymentAction(request, context) { paymentID in
                _ = try await runtime.payments.payBackReturned(
                    paymentID: paymentID, lineKey: context.form["lineKey"] ?? "", note: context.form["note"] ?? "", metadata: metadata(request, context)
                )
                return "The transfer back is recorded as come back; the payment is owed to the payer again. Send it again, import the statement that shows it, then record it here."
            }
        }
        group.post("payments/:paymentId/reassign") { request, context in
            try await paymentAction(request, context) { paymentID in
                let from = try ProfileID(context.form["fromProfileId"] ?? "")
                let to = try ProfileID((context.form["toProfileId"] ?? "").trimmingCharacters(in: .whitespaces))
                let text = (context.form["amount"] ?? "").trimmingCharacters(in: .whitespaces)
                var part: Money?
                if !text.isEmpty {
                    guard let parsed = try? Money(parsing: text, currency: "EUR") else { throw ConsoleRefusal("The amount must look like 125.00.") }
                    part = parsed
                }
                _ = try await runtime.payments.reassign(
                    paymentID: paymentID, from: from, to: to, amount: part, reason: context.form["reason"] ?? "", metadata: metadata(request, context)
                )
                return part.map { "\(ConsoleWords.money($0)) of the payment now counts for \(to.rawValue)." } ?? "The payment now counts for \(to.rawValue)."
            }
        }
        group.post("payments/:paymentId/refund") { request, context in
            try await paymentAction(request, context) { paymentID in
                // Read in the payment's own currency ("400" of a yen payment); empty asks for all that remains.
                let text = (context.form["amount"] ?? "").trimmingCharacters(in: .whitespaces)
                let amount = text.isEmpty ? nil : text
                var key = (context.form["refundKey"] ?? "").trimmingCharacters(in: .whitespaces)
                // While a request the provider never answered is open, the form asks for it again: without a key
                // of its own, the same refund is sent again under that request's key (another is refused).
                // (The payment's stream alone: its view would load the profile too.)
                if try await runtime.payments.loadPayment(paymentID).unansweredRefundRequests.contains(where: { $0.requestKey != nil }) { key = "" }
                _ = try await runtime.refunds.refund(
                    paymentID: paymentID, amount: amount, idempotencyKey: key.isEmpty ? nil : String(key.prefix(100)), metadata: metadata(request, context)
                )
                return "The refund is asked for; the payment provider confirms it shortly."
            }
        }
        group.post("payments/:paymentId/refund-requests/:requestKey/close") { request, context in
            try await paymentAction(request, context) { paymentID in
                try await runtime.refunds.close(
                    paymentID: paymentID, requestKey: try pathParameter(context, "requestKey"), reason: context.form["reason"] ?? "",
                    metadata: metadata(request, context)
                )
                return "The refund request is closed; its money can be paid back again."
            }
        }
        group.post("payments/:paymentId/receipts") { request, context in
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            do {
                let documents = try await runtime.receipts.documents(for: paymentID, metadata: metadata(request, context))
                return try await paymentPage(request, context, receipts: documents.map { ["number": $0.printedNumber, "kind": $0.kind == .receipt ? "Receipt" : "Credit note"] })
            } catch {
                return try await paymentPage(request, context, error: sentence(for: error, request, context), status: status(for: error, request, context))
            }
        }
    }

    func paymentsPage(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        func value(_ name: String) -> String? {
            request.uri.queryParameters[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        }
        var refusal: String?
        let method = value("method").flatMap { PaymentMethod(rawValue: $0) }
        let purpose = value("purpose").flatMap { PaymentListPurpose(rawValue: $0) }
        let state = value("state").flatMap { PaymentListState(rawValue: $0) }
        var month: String?
        if let text = value("month") {
            if text.utf8.count == 7, let first = LocalDate(iso: text + "-01"), LedgerBounds.contains(first) { month = text } else { refusal = "The month must look like 2026-01." }
        }
        let pageNumber = value("page").flatMap(Int.init).map { min(max($0, 1), 10_000) } ?? 1
        let pageSize = 50
        let rows = try await runtime.lists.payments(method: method, purpose: purpose, month: month, state: state, limit: pageSize + 1, offset: (pageNumber - 1) * pageSize)
        func options(_ all: [(String, String)], _ chosen: String?) -> [[String: Any]] {
            [["value": "", "label": "any", "selected": chosen == nil]] + all.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == chosen] }
        }
        func link(_ page: Int) -> String {
            let filters = [("method", method?.rawValue), ("purpose", purpose?.rawValue), ("month", month), ("state", state?.rawValue)]
                .compactMap { name, value in value.map { "\(name)=\(ConsoleForm.percentEncoded($0))" } }
            return "/console/payments?" + (filters + ["page=\(page)"]).joined(separator: "&")
        }
        var data: [String: Any] = [
            "methods": options(PaymentMethod.allCases.map { ($0.rawValue, ConsoleWords.method($0.rawValue)) }, method?.rawValue),
            "purposes": options(PaymentListPurpose.allCases.map { ($0.rawValue, ConsoleWords.purpose($0.rawValue)) }, purpose?.rawValue),
            "states": options(PaymentListState.allCases.map { ($0.rawValue, ConsoleWords.paymentState($0.rawValue)) }, state?.rawValue),
            "month": month ?? "",
            "rows": rows.prefix(pageSize).map { row -> [String: Any] in
                var item: [String: Any] = [
                    "paymentId": row.paymentId, "date": ConsoleWords.date(row.effectiveDate), "amount": ConsoleWords.euros(row.amount, currency: row.currency),
                    "method": ConsoleWords.method(row.method), "purpose": ConsoleWords.purpose(row.purpose), "state": ConsoleWords.paymentState(row.state),
                ]
                if let profileId = row.profileId { item["profileId"] = profileId }
                return item
            },
        ]
        if pageNumber > 1 { data["previous"] = link(pageNumber - 1) }
        if rows.count > pageSize { data["next"] = link(pageNumber + 1) }
        return page("payments", "Payments", "/console/payments", data, context, request: request, error: refusal, status: refusal == nil ? .ok : .badRequest)
    }

    func paymentPage(
        _ request: Request, _ context: LedgerRequestContext, error: String? = nil, status: HTTPResponse.Status = .ok, receipts: [[String: Any]] = []
    ) async throws -> Response {
        let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
        guard paymentID.rawValue.utf8.count <= 200,
            let payment = try await runtime.payments.page(paymentID, books: runtime.books, limit: PaymentPipeline.payBackLinesMax)
        else {
            return page("message", "Not found", "/console/payments", ["heading": "No such payment", "message": "There is no payment with that id."], context, status: .notFound)
        }
        let view = payment.view
        let words = words
        let amount = ConsoleWords.euros(view.amount, currency: view.currency)
        let purpose = ConsoleWords.purpose(view.purpose, resolution: view.resolution?.resolution)
        var summary = "\(purpose), \(view.status == "received" ? "received" : view.status.replacingOccurrences(of: "-", with: " "))"
        if view.waitingForStaff { summary += "; waiting for a staff decision" }
        summary = ConsoleWords.sentence(summary)
        var data: [String: Any] = [
            "paymentId": view.paymentId, "amount": amount, "currency": view.currency, "method": ConsoleWords.method(view.method), "summary": summary,
            "date": ConsoleWords.date(view.effectiveDate), "purpose": purpose,
            "refunded": ConsoleWords.euros(view.refunded, currency: view.currency), "receipts": receipts,
            "allocations": view.allocations.map { allocation -> [String: Any] in
                [
                    "profileId": allocation.profileId, "amount": ConsoleWords.euros(allocation.amount),
                    "state": allocation.state == "active" ? "counts" : "taken back (\(allocation.reversedAs?.replacingOccurrences(of: "_", with: " ") ?? "reversed"))",
                ]
            },
            "history": view.history.map { step -> [String: Any] in
                var item: [String: Any] = ["at": words.instant(step.at), "type": ConsoleWords.paymentStep(step.type)]
                if let by = ConsoleWords.actor(step.by) { item["by"] = by }
                return item
            },
        ]
        if let profileId = view.profileId { data["profileId"] = profileId }
        if let held = view.held { data["held"] = ConsoleWords.sentence(held.reason) }
        if let resolution = view.resolution {
            data["resolution"] = "\(ConsoleWords.sentence(ConsoleWords.resolution(resolution.resolution))) Reason: \(resolution.reason) — \(ConsoleWords.actor(resolution.by) ?? "unknown"), \(words.instant(resolution.at))"
        }
        if let voided = view.voided { data["voided"] = "\(voided.reason) — \(ConsoleWords.actor(voided.by) ?? "unknown"), \(words.instant(voided.at))" }
        // A payment moves from a profile it pays for now: after a move, or a decision for a transfer that named
        // nobody, that is not the profile the payment arrived for.
        var payingFor: [String] = []
        for allocation in view.allocations where allocation.state == "active" && !payingFor.contains(allocation.profileId) {
            payingFor.append(allocation.profileId)
        }
        data["moveFrom"] = payingFor.map { ["profileId": $0] }
        data["canReassign"] = !payingFor.isEmpty && view.voided == nil
        data["canVoid"] = view.voidable
        data["canRefund"] = [PaymentMethod.card.rawValue, PaymentMethod.paypal.rawValue].contains(view.method ?? "")
        // Reversals by hand: money staff recorded as given back outside the ledger's view.
        data["givenBack"] = view.givenBackByHand.map { given -> [String: Any] in
            let kind = given.kind.replacingOccurrences(of: "_", with: " ")
            let covered = given.standing == given.amount ? "" : "; \(ConsoleWords.euros(given.standing, currency: view.currency)) of it stands (a report of the provider or bank, or a dispute won, covers the rest)"
            return ["text": "\(ConsoleWords.euros(given.amount, currency: view.currency)) of what paid for \(given.profileId) (\(kind)): \(given.reason), \(words.instant(given.at))\(covered)"]
        }
        if let returned = view.returned {
            let day = returned.bookingDate.map { " on \(ConsoleWords.date($0))" } ?? ""
            data["returned"] = "The bank returned this transfer to the payer\(day) (\(returned.reason))."
        }
        // Staff decided to pay it back and no provider can: they say how it went back.
        if let offer = payment.payBack {
            data["canPayBack"] = true
            data["payBackLines"] = offer.lines.map { line -> [String: Any] in
                let who = [line.counterparty, line.details.isEmpty ? nil : line.details].compactMap { $0 }.joined(separator: " · ")
                return ["lineKey": line.lineKey, "label": "\(ConsoleWords.date(line.bookingDate)): \(ConsoleWords.money(line.amount)) out\(who.isEmpty ? "" : " — " + who)"]
            }
            data["hasPayBackLines"] = !offer.lines.isEmpty
            data["payBackDue"] = ConsoleWords.money(offer.due)
        }
        // Paid back by a transfer: the payer's bank may send it back.
        if let offer = payment.payBackReturn {
            data["paidBackOn"] = "Paid back by a transfer of \(ConsoleWords.money(offer.paidBack.amount)) on \(ConsoleWords.date(offer.paidBack.paidOn))."
            data["returnLines"] = offer.lines.map { line -> [String: Any] in
                let who = [line.counterparty, line.details.isEmpty ? nil : line.details].compactMap { $0 }.joined(separator: " · ")
                return ["lineKey": line.lineKey, "label": "\(ConsoleWords.date(line.bookingDate)): \(ConsoleWords.money(line.amount)) in\(who.isEmpty ? "" : " — " + who)"]
            }
            data["hasReturnLines"] = !offer.lines.isEmpty
        }
        let now = runtime.now()
        data["unanswered"] = view.unansweredRefundRequests.map { open -> [String: Any] in
            [
                "requestKey": open.requestKey, "requestPath": ConsoleForm.pathSegment(open.requestKey), "amount": ConsoleWords.euros(open.amount, currency: view.currency), "askedAt": words.instant(open.askedAt),
                "closable": open.closableFrom <= now, "closableFrom": words.instant(open.closableFrom),
            ]
        }
        data["hasUnanswered"] = !view.unansweredRefundRequests.isEmpty
        // The form's own key: sending the same form twice asks for one refund.
        data["refundKey"] = UUID().uuidString.lowercased()
        return page("payment", "Payment \(amount)", "/console/payments", data, context, request: request, error: error, status: status)
    }

    // MARK: Listings, directory, settings

    func listingsPage(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        let views: [(String, String)] = [
            ("this-month", "Expiring this month"), ("next-month", "Expiring next month"), ("grace", "In grace"), ("expired", "Expired"),
            ("active", "Listed"), ("waived", "Waived"), ("pending", "Not listed yet"), ("suspended", "Suspended"),
        ]
        try await runtime.catchUpStaffViews()
        let chosen = request.uri.queryParameters["view"].map(String.init).flatMap { view in views.contains { $0.0 == view } ? view : nil } ?? "this-month"
        let today = today
        let thisMonth = LocalDate(year: today.year, month: today.month, day: 1) ?? today
        let paging = ConsolePaging(request)
        let (limit, offset) = (paging.limit, paging.offset)
        let rows: [ListingRow] = switch chosen {
        case "this-month": try await runtime.listings.list(status: nil, expiringWithinDays: nil, expiringInMonth: thisMonth.monthText, limit: limit, offset: offset)
        case "next-month": try await runtime.listings.list(status: nil, expiringWithinDays: nil, expiringInMonth: thisMonth.addingMonths(1).monthText, limit: limit, offset: offset)
        default: try await runtime.listings.list(status: chosen, expiringWithinDays: nil, limit: limit, offset: offset)
        }
        var data: [String: Any] = [
            "views": views.map { ["value": $0.0, "label": $0.1, "current": $0.0 == chosen] },
            "rows": rows.prefix(ConsolePaging.size).map { row -> [String: Any] in
                [
                    "profileId": row.profileId, "displayName": row.displayName, "status": ConsoleWords.status(row.status),
                    "paidThrough": ConsoleWords.date(row.paidThrough), "why": row.visible ? (row.basis?.hasPrefix("waiver:") == true ? "waiver" : "paid") : ConsoleWords.hiddenReason(row.reason),
                ]
            },
        ]
        paging.link("/console/listings?view=\(chosen)&", fetched: rows.count, into: &data)
        return page("listings", "Listings", "/console/listings", data, context, request: request)
    }

    func directoryPage(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        let words = words
        let endpoints = try await runtime.directoryEndpoints.list()
        // The latest first, dead letters in pages of 100, so every one can be sent again from here.
        let paging = ConsolePaging(request)
        let fetched = try await runtime.directory.deliveries(status: "dead", endpointID: nil, newestFirst: true, limit: paging.limit, offset: paging.offset)
        let dead = fetched.prefix(ConsolePaging.size)
        let recent = try await runtime.directory.deliveries(status: "delivered", endpointID: nil, newestFirst: true, limit: 20, offset: 0)
        var data: [String: Any] = [
            "endpoints": endpoints.map { ["url": $0.url, "state": $0.enabled ? "receiving changes" : "switched off (\($0.disabledReason ?? "by staff"))"] },
            "dead": dead.map { ["id": $0.deliveryId, "profileId": $0.profileId, "error": $0.lastError ?? $0.lastStatus.map { "answered \($0)" } ?? "—"] },
            "recent": recent.map { ["id": $0.deliveryId, "profileId": $0.profileId, "at": words.instant($0.deliveredAt ?? $0.nextAttemptAt)] },
        ]
        paging.link("/console/directory?", fetched: fetched.count, into: &data)
        return page("directory", "Directory", "/console/directory", data, context, request: request)
    }

    func registerSettingsRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.get("settings") { request, context in try await settingsPage(request, context) }
        group.post("settings/users") { request, context in
            try await act(request, context, back: "/console/settings") {
                let user = try await runtime.staffUsers.add(name: context.form["name"] ?? "", email: context.form["email"] ?? "", password: context.form["password"] ?? "")
                return "\(user.name) can now sign in as \(user.email)."
            }
        }
        group.post("settings/keys") { request, context in
            do {
                // The new key's secret is shown on the first answer only (it is not kept); the form sent again
                // (a double click) creates no second key and says where the first one's secret was.
                return try await once(request, context, then: "/console/settings") {
                    guard let role = APIRole(rawValue: context.form["role"] ?? "") else { throw ConsoleRefusal("Choose what the key is for.") }
                    let created = try await runtime.apiKeys.create(name: context.form["name"] ?? "", role: role)
                    let notice = "The key for \(created.record.name) was created when the form was first sent; its secret was shown on that answer only. If it was not copied, revoke the key and create another."
                    return (notice, try await settingsPage(request, context, createdKey: created.key, status: .created))
                }
            } catch {
                return try await settingsPage(request, context, error: sentence(for: error, request, context), status: status(for: error, request, context))
            }
        }
        group.post("settings/keys/:keyId/revoke") { request, context in
            try await act(request, context, back: "/console/settings") {
                guard try await runtime.apiKeys.revoke(keyID: try context.parameters.require("keyId")) else { throw ConsoleRefusal("That key does not exist.") }
                return "The key is revoked; it opens nothing any more."
            }
        }
    }

    func settingsPage(
        _ request: Request, _ context: LedgerRequestContext, createdKey: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let words = words
        var data: [String: Any] = [
            "users": try await runtime.staffUsers.list().map { ["name": $0.name, "email": $0.email, "state": $0.disabledAt == nil ? "can sign in" : "disabled"] },
            "keys": try await runtime.apiKeys.list().map { key -> [String: Any] in
                [
                    "keyId": key.keyID, "name": key.name, "role": key.role.rawValue, "created": words.instant(key.createdAt),
                    "state": key.revokedAt.map { "revoked \(words.instant($0))" } ?? "active", "active": key.revokedAt == nil,
                ]
            },
        ]
        if let createdKey { data["createdKey"] = createdKey }
        return page("settings", "Settings", "/console/settings", data, context, request: request, error: error, status: status)
    }

    // MARK: Helpers

    /// A page for the signed-in person, with the notice a redirect left.
    func page(
        _ template: String, _ title: String, _ section: String, _ data: [String: Any], _ context: LedgerRequestContext,
        request: Request? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) -> Response {
        let (notice, refused, clearing) = request.map { ConsolePage.takeNotice($0, secure: secure) } ?? (nil, false, [:])
        // A refusal a redirect left is shown with the page's own error, if it has one.
        let errors = [error, refused ? notice : nil].compactMap { $0 }
        return ConsolePage.render(
            template, title: title, section: section, data: data, session: context.staffSession, notice: refused ? nil : notice,
            error: errors.isEmpty ? nil : errors.joined(separator: " "), status: status, headers: clearing
        )
    }

    func signInPage(next: String, email: String, error: String?, status: HTTPResponse.Status) -> Response {
        let token = APIKeyStore.randomToken(bytes: 32)
        var headers = HTTPFields()
        headers[.setCookie] = ConsoleCookie.header(ConsoleCookie.signIn, token, path: "/console/sign-in", maxAge: 3_600, sameSite: "Strict", secure: secure)
        return ConsolePage.render(
            "sign-in", title: "Sign in", section: "", data: ["signInToken": token, "next": Self.safeNext(next), "email": email],
            session: nil, error: error, status: status, headers: headers
        )
    }

    /// Only a console path may be where sign-in leads, never another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/console"), !next.hasPrefix("//"), !next.contains("\\"), next.utf8.count <= 500 else { return "/console" }
        return next
    }

    /// Runs a form's action: on success, back to `back` with what happened; on failure, the same with why.
    func act(_ request: Request, _ context: LedgerRequestContext, back: String, _ body: () async throws -> String) async throws -> Response {
        do {
            return try await once(request, context, then: back, body)
        } catch {
            return ConsolePage.redirect(back, notice: failureNotice(error, request, context), refused: true, secure: secure)
        }
    }

    /// The page for a path whose profile id cannot be one.
    func notAProfileID(_ context: LedgerRequestContext) -> Response {
        page("message", "Not found", "/console/profiles", ["heading": "No such profile", "message": "That is not a profile id."], context, status: .notFound)
    }

    /// An action on a profile: success goes back to its page with a notice; failure shows the page with why.
    func profileAction(_ request: Request, _ context: LedgerRequestContext, _ body: (ProfileID) async throws -> String) async throws -> Response {
        guard let profileID = try? ProfileID(try context.parameters.require("profileId")) else {
            return notAProfileID(context)
        }
        do {
            return try await once(request, context, then: "/console/profiles/\(ConsoleForm.percentEncoded(profileID.rawValue))") { try await body(profileID) }
        } catch {
            return try await profilePage(request, context, error: failureNotice(error, request, context), status: status(for: error, request, context))
        }
    }

    func paymentAction(_ request: Request, _ context: LedgerRequestContext, _ body: (PaymentID) async throws -> String) async throws -> Response {
        let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
        do {
            return try await once(request, context, then: "/console/payments/\(ConsoleForm.percentEncoded(paymentID.rawValue))") { try await body(paymentID) }
        } catch {
            // A provider that failed a refund was asked, and the request is on the payment: something was recorded.
            let notice = (error as? PaymentServiceError)?.code == .providerFailed ? sentence(for: error, request, context) : failureNotice(error, request, context)
            return try await paymentPage(request, context, error: notice, status: status(for: error, request, context))
        }
    }

    /// Carries out a form once and leads to `location` with its notice. The page's `formKey` names the form:
    /// the same form sent again (a double click, a resend after an answer that never arrived) waits for the
    /// first to finish and gets its answer, and does nothing more. A form that fails frees its key, so it can
    /// be corrected and sent again.
    func once(_ request: Request, _ context: LedgerRequestContext, then location: String, _ act: () async throws -> String) async throws -> Response {
        try await once(request, context, then: location) { (notice: try await act(), answer: nil) }
    }

    /// ``once(_:_:then:_:)`` for a form whose first answer is a page of its own that cannot be kept (the secret of
    /// a new API key, shown once): the first sending gets `answer`, one sent again is led to `location` with
    /// `notice`, which says what the first did.
    func once(
        _ request: Request, _ context: LedgerRequestContext, then location: String, _ act: () async throws -> (notice: String, answer: Response?)
    ) async throws -> Response {
        guard let user = context.staffSession?.user, let key = context.form["formKey"], !key.isEmpty, key.utf8.count <= 64 else {
            let done = try await act()
            return done.answer ?? ConsolePage.redirect(location, notice: done.notice, secure: secure)
        }
        let caller = "console:\(user.userID)"
        // The fingerprint is a plain SHA-256, kept with the answer: a password in it could be guessed at hashing
        // speed from a copy of the database, so passwords (and the session's form token) are left out.
        let fields = context.form.filter { $0.key != "_csrf" && !$0.key.lowercased().contains("password") }
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{0}")
        let fingerprint = IdempotentOutcome.fingerprint(method: "POST", path: request.uri.path, contentType: "console-form", body: Array(fields.utf8))
        let records = runtime.idempotency
        let stale = ConsoleRefusal("This page is out of date: another form on it was sent already. Reload the page and send the form again.")
        for _ in 0..<Self.onceWaitsMax {
            switch try await records.claim(caller: caller, key: key, fingerprint: fingerprint) {
            case .answered(let first):
                guard first.fingerprint == fingerprint, let location = first.location else { throw stale }
                return ConsolePage.redirect(location, notice: String(decoding: first.body, as: UTF8.self), secure: secure)
            case .inProgress(let other):
                guard other == fingerprint else { throw stale }
                try await Task.sleep(for: .milliseconds(100))
            case .claimed(let token):
                // A form that fails frees its key, so it can be corrected and sent again.
                let ((answer, ownNotice), recorded) = try await records.run(caller: caller, key: key, token: token, storeFailed: { storeError in
                    context.logger.warning("a console form's key could not be released or its answer kept", metadata: ["error": "\(storeError)"])
                }) { () async throws -> (answer: (Response?, String), keep: IdempotentOutcome?) in
                    let (notice, answer) = try await act()
                    return ((answer, notice), IdempotentOutcome(fingerprint: fingerprint, status: 303, contentType: "text/plain", location: location, body: Data(notice.utf8)))
                }
                // The answer on record: this form's, or, had its claim lapsed meanwhile, the one a resend recorded.
                let notice = recorded.map { String(decoding: $0.body, as: UTF8.self) } ?? ownNotice
                return answer ?? ConsolePage.redirect(recorded?.location ?? location, notice: notice, secure: secure)
            }
        }
        throw ConsoleRefusal("The same form is still being carried out. Reload the page in a moment to see its result.")
    }

    /// The form's own key (each page draws one per form, see ``once(_:_:then:_:)``), when it is one: what a fact
    /// the form records is named by, so the same form sent again, even after its key was freed by a failure whose
    /// outcome is not known, records it once.
    static func formKeyUUID(_ context: LedgerRequestContext) -> UUID? {
        context.form["formKey"].flatMap { UUID(uuidString: $0) }
    }

    /// How many times a form sent again looks, a tenth of a second apart, for the first one's answer.
    static let onceWaitsMax = 300

    /// What went wrong, as a sentence for a person (a database outage too: "the database cannot be used right
    /// now; retry later").
    func sentence(for error: any Error, _ request: Request, _ context: LedgerRequestContext) -> String {
        if let refusal = error as? ConsoleRefusal { return refusal.message }
        if let error = error as? StaffUserError { return ConsoleWords.sentence(error.description) }
        if let error = error as? APIKeyError { return ConsoleWords.sentence(error.description) }
        let problem = ProblemMiddleware.problem(for: error, request: request, context: context)
        if problem.status == .internalServerError { return "Something went wrong on our side; it is in the log as request \(context.requestID)." }
        if let error = error as? PaymentServiceError, error.code == .likelyDuplicate {
            // The service's words name the API's field; the form has a box to tick instead.
            return ConsoleWords.sentence(problem.detail.replacingOccurrences(
                of: PaymentServiceError.confirmDuplicateAdvice, with: "tick “This is not a duplicate” and send the form again"
            ))
        }
        return ConsoleWords.sentence(problem.detail)
    }

    /// What a form that failed did, and why. A refusal changed nothing; a database that went away or a failure on
    /// our side may have come after the commit, so the page says it is not known (the form's key is free again,
    /// and a waiver or payment recorded by hand is named by the form, so sending it again records it once).
    func failureNotice(_ error: any Error, _ request: Request, _ context: LedgerRequestContext) -> String {
        let why = sentence(for: error, request, context)
        switch status(for: error, request, context) {
        case .serviceUnavailable, .internalServerError:
            return "It is not known whether this was recorded: " + why + " Look at the page again before sending the form again."
        default:
            return "Nothing was changed: " + why
        }
    }

    func status(for error: any Error, _ request: Request, _ context: LedgerRequestContext) -> HTTPResponse.Status {
        if error is ConsoleRefusal || error is StaffUserError || error is APIKeyError { return .unprocessableContent }
        return ProblemMiddleware.problem(for: error, request: request, context: context).status
    }

    func formDate(_ text: String?, _ what: String) throws -> LocalDate {
        guard let text, let date = LocalDate(iso: text.trimmingCharacters(in: .whitespaces)), LedgerBounds.contains(date) else {
            throw ConsoleRefusal("\(what) must be a date like 2026-01-31.")
        }
        return date
    }

    func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=3600"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// A console form that cannot be carried out, in words for the person.
struct ConsoleRefusal: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A console list's page, from `?page=` (1 to 10,000; anything else is the first), 100 rows each. A list reads one
/// row more than a page, to know whether there is a next one.
struct ConsolePaging {
    static let size = 100
    let number: Int

    init(_ request: Request) {
        number = request.uri.queryParameters["page"].flatMap { Int($0) }.map { min(max($0, 1), 10_000) } ?? 1
    }

    var limit: Int { Self.size + 1 }
    var offset: Int { (number - 1) * Self.size }

    /// The "previous" and "next" links of the page, `base` followed by `page=N`, given how many rows were read.
    func link(_ base: String, fetched: Int, into data: inout [String: Any]) {
        if number > 1 { data["previous"] = "\(base)page=\(number - 1)" }
        if fetched > Self.size { data["next"] = "\(base)page=\(number + 1)" }
    }
}
