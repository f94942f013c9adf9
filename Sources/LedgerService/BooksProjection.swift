public import EventStore
public import Foundation
public import LedgerCore

/// The books: double-entry journal entries folded from the payment and bank events (`journal_lines`), and the
/// statements' closing balances to check them against (`book_balance_checks`).
///
/// - A payment's events of one append become one entry: the change between where its money stood and where
///   it stands now (``PaymentBooks``), dated the day the money arrived, or the day of the change.
/// - A bank line that is not a payment (``BankMovementRecorded``) moves the bank account against money paid
///   out, or against other income.
/// - The earliest statement (by its first day) that states an opening balance (``BankStatementRecorded``) books
///   the bank account's opening balance: the difference between that balance and what the books hold before its
///   first day. A statement of earlier days imported later moves the opening to its own first day and balance,
///   and bank lines of days before the opening, recorded later, change its amount: the entry is written again.
///   Every statement with a closing balance adds a check for the day after its last line.
///
/// Entries follow the log's order, so a rebuild writes exactly the rows the live service wrote.
public struct BooksProjection: Projection {
    public let name = "books"
    let calendar: @Sendable () -> OrganisationCalendar
    var paymentStates: FoldedStates<PaymentEntryState> { FoldedStates(projection: name) }
    var bankStates: FoldedStates<BankOpening> { FoldedStates(projection: name) }
    /// How an entry for a transfer the bank returned begins its narration (``BooksQueries/unmatchedReturns(limit:)``
    /// finds the ones that match no payment by it).
    static let returnedWords = "Returned by the bank"
    /// The key of the bank account's opening state among this projection's states.
    static let openingKey = "bank-opening"

    let decoded: DecodedEvents

    public init(calendar: @escaping @Sendable () -> OrganisationCalendar, decoded: DecodedEvents = DecodedEvents()) {
        self.calendar = calendar
        self.decoded = decoded
    }

    /// For each currency: the bank account's opening balance, if a statement stated one, and the bank postings by
    /// day before it (all of them until there is one; none on or after its day, which it can never come to hold).
    struct BankOpening: Codable, Sendable {
        var postedByDay: [String: [String: Int64]] = [:]
        /// By currency (nil in states kept before openings could move: a migration empties those).
        var anchors: [String: Anchor]?

        /// The opening entry: the earliest statement's first day and opening balance, and what the entry posts now.
        struct Anchor: Codable, Sendable {
            var day: String
            var balanceMinorUnits: Int64
            var narration: String
            /// The entry keeps the id and place in the log of the statement that first stated an opening.
            var entryID: String
            var commitOrder: Int64
            var position: Int64
            /// What the entry posts to the bank account now (0: it has no lines).
            var postedMinorUnits: Int64
            /// Whether the day or the narration changed since the entry was written.
            var moved: Bool
        }
    }

    /// A payment as the books keep it: its postings so far, and the entry of its latest append, which the
    /// append's later events still change (an append may be split across batches, and one append makes one entry
    /// wherever the batches begin).
    struct PaymentEntryState: Codable, Sendable {
        var books = PaymentBooks()
        var entry: OpenEntry?
    }

    /// An append's events share the instant they were recorded at (one per written batch, on both stores): a
    /// payment's events recorded at the same instant make one entry.
    struct OpenEntry: Codable, Sendable {
        var entryID: String
        var recordedAtMicros: Int64
        var commitOrder: Int64
        var position: Int64
        /// What was posted for the payment before this append.
        var postedBefore: [BookAccount: Int64]
        var lines: [BookAccount: Int64] = [:]
        var date: String?
        var narration: [String] = []
        var holdsReceipt = false
        /// The day the bank booked what this append records, when it says (a return); else the day it was recorded.
        var bankDay: LocalDate?

        init(_ event: RecordedEvent, postedBefore: [BookAccount: Int64]) {
            entryID = event.id.uuidString.lowercased()
            recordedAtMicros = Self.micros(event.recordedAt)
            commitOrder = event.cursor.commitOrder
            position = event.cursor.position
            self.postedBefore = postedBefore
        }

        static func micros(_ instant: Date) -> Int64 {
            Int64((instant.timeIntervalSince1970 * 1_000_000).rounded())
        }
    }

    public func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM journal_lines")
        try await connection.execute("DELETE FROM book_month_totals")
        try await connection.execute("DELETE FROM book_balance_checks")
        try await connection.execute("DELETE FROM bank_movements")
        try await paymentStates.reset(connection)
    }

    /// Reads only states and entries the batch before carried, or what is stored.
    public var decidesFromCarriedValues: Bool { true }

    static func follows(_ stream: String) -> Bool {
        switch StreamName(stream) {
        case .payment, .bankMovement, .bankStatement: true
        default: false
        }
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        let followed = events.filter { Self.follows($0.stream) }
        guard !followed.isEmpty else { return }
        let calendar = self.calendar()
        let paymentStreams = Array(Set(followed.lazy.map(\.stream).filter(StreamName.isPayment)))
        var payments = try await paymentStates.load(paymentStreams, connection)
        var opening = try await bankStates.load([Self.openingKey], connection)[Self.openingKey] ?? BankOpening()
        // The currencies whose opening entry was written by an earlier batch (its lines are in the table).
        let openedBefore = Set((opening.anchors ?? [:]).keys)
        var journal = Journal()
        // By currency and day: of two statements ending on one day, the later in the log counts.
        var checks: [String: [SQLValue]] = [:]
        // The bank lines that are not payments (`bank_movements`), by line key, and the payment each line's paying back
        // was of (`paid_back_payment_id`): the transfer that paid it back, or that transfer come back.
        var movements: [String: [SQLValue]] = [:]
        var paidBackBy: [String: String] = [:]

        // Entries rewritten because their append began in an earlier batch.
        var continued: Set<String> = []
        var index = followed.startIndex
        while index < followed.endIndex {
            let first = followed[index]
            if StreamName.isPayment(first.stream) {
                index += 1
                guard let event = try decoded.paymentEvent(first) else { continue }
                if case .paidBack(let paidBack) = event { paidBackBy[paidBack.movementLineKey] = paidBack.paymentID.rawValue }
                if case .payBackReturned(let returned) = event { paidBackBy[returned.movementLineKey] = returned.paymentID.rawValue }
                var state = payments[first.stream] ?? PaymentEntryState()
                // A return the bank booked on a day of its own is an entry of its own, dated that day, also when it
                // was recorded in one append with the transfer it returns (both on statements of one file); so is
                // money staff paid back, on the day it went back.
                let ownDay: LocalDate? = switch event {
                case .returned(let returned): returned.bookingDate
                case .paidBack(let paidBack): paidBack.paidOn
                case .payBackReturned(let returned): returned.returnedOn
                default: nil
                }
                if ownDay == nil, let entry = state.entry, entry.recordedAtMicros == OpenEntry.micros(first.recordedAt) {
                    if !journal.holds(entry.entryID) { continued.insert(entry.entryID) }
                } else {
                    state.entry = OpenEntry(first, postedBefore: state.books.target)
                }
                state.books.evolve(event)
                guard var entry = state.entry else { continue }
                entry.narration.append(contentsOf: Self.narration(event, recorded: first, books: state.books))
                if case .received = event { entry.holdsReceipt = true }
                if let ownDay { entry.bankDay = ownDay }
                let received = state.books.payment.received
                // A later entry is dated when it happened, but never before the payment's own receipt: a payment
                // recorded by hand for a day ahead and voided before that day is taken back on its day, not before.
                let happened = entry.bankDay ?? calendar.date(at: first.recordedAt)
                let date = entry.holdsReceipt ? received?.effectiveDate.description : max(happened, received?.effectiveDate ?? happened).description
                let lines = Dictionary(state.books.postings(since: entry.postedBefore).map { ($0.account, $0.minorUnits) }) { $0 + $1 }
                // The bank postings by day, until the opening balance is booked: this entry's earlier lines out, its new lines in.
                if let currency = received?.amount.currency {
                    if let old = entry.lines[.bank], let day = entry.date { opening.note(-old, currency, on: day) }
                    if let new = lines[.bank], let day = date { opening.note(new, currency, on: day) }
                }
                entry.lines = lines
                entry.date = date
                state.entry = entry
                payments[first.stream] = state
                if let received, let date, let day = LocalDate(iso: date) {
                    let shares = state.books.payment.listingShares
                    journal.set(
                        entry.entryID, commitOrder: entry.commitOrder, position: entry.position, date: day,
                        postings: lines.keys.sorted().map { BookPosting(account: $0, minorUnits: lines[$0] ?? 0, currency: received.amount.currency) },
                        paymentID: received.paymentID.rawValue, method: received.method,
                        profileID: shares.count == 1 ? shares[0].share.profileID.rawValue : received.profileID?.rawValue,
                        narration: entry.narration.isEmpty ? "Payment changed" : entry.narration.joined(separator: "; ")
                    )
                }
                continue
            }
            index += 1
            if first.type == BankMovementRecorded.typeName {
                let movement = try BankMovementRecorded.decode(first.data)
                let amount = movement.amount.minorUnits
                let other: BookAccount = movement.isCredit ? .bankIncomingOther : .bankOutgoing
                let postings = [
                    BookPosting(account: .bank, minorUnits: movement.isCredit ? amount : -amount, currency: movement.amount.currency),
                    BookPosting(account: other, minorUnits: movement.isCredit ? -amount : amount, currency: movement.amount.currency),
                ]
                let what = movement.returnReason.map { "\(Self.returnedWords) (\($0))" } ?? (movement.isCredit ? "Money in without a payment" : "Money out")
                let narration = [what, movement.counterparty, movement.text.isEmpty ? nil : movement.text].compactMap { $0 }.joined(separator: " · ")
                journal.add(first, date: movement.bookingDate, postings: postings, narration: narration)
                opening.note(postings[0].minorUnits, movement.amount.currency, on: movement.bookingDate.description)
                movements[movement.lineKey] = [
                    .text(movement.lineKey), .text(movement.bookingDate.description), .text(movement.isCredit ? "in" : "out"), .integer(amount),
                    .text(movement.amount.currency), .optional(movement.counterparty), .text(movement.text), .optional(movement.returnReason), .null,
                ]
            } else if first.type == BankStatementRecorded.typeName {
                let statement = try BankStatementRecorded.decode(first.data)
                if let balance = statement.openingBalance, let firstDay = statement.firstBookingDate {
                    opening.open(
                        balance, on: firstDay, from: first,
                        narration: "Opening balance of the bank account \(statement.account) (statement \(statement.statementID ?? statement.statementKey))"
                    )
                }
                // An intermediate closing balance (MT940 `:62M:`) may stand partway through its last day, whose
                // other lines are on the next page: it is no balance at the end of that day, so no check.
                if let closing = statement.closingBalance, statement.closingBalanceIsIntermediate != true, let lastDay = statement.lastBookingDate {
                    let day = lastDay.addingDays(1).description
                    checks[closing.currency + " " + day] = [
                        .text(BookAccount.bank.rawValue), .text(day), .integer(closing.minorUnits), .text(closing.currency),
                        .text(statement.statementKey), .optional(statement.statementID),
                    ]
                }
            }
        }

        // Each opening entry, written again where its day, narration or amount changed.
        for currency in (opening.anchors ?? [:]).keys.sorted() {
            guard var anchor = opening.anchors?[currency], let day = LocalDate(iso: anchor.day) else { continue }
            // Wrapping: a ledger written before balances were bounded may hold one that differs from what was
            // posted by Int64.min, and the read model must not trap.
            let amount = anchor.balanceMinorUnits &- (opening.postedByDay[currency] ?? [:]).values.reduce(Int64(0), &+)
            guard amount != anchor.postedMinorUnits || anchor.moved else { continue }
            if openedBefore.contains(currency) { continued.insert(anchor.entryID) }
            journal.set(
                anchor.entryID, commitOrder: anchor.commitOrder, position: anchor.position, date: day,
                postings: amount == 0 ? [] : [
                    BookPosting(account: .bank, minorUnits: amount, currency: currency),
                    BookPosting(account: .openingBalances, minorUnits: 0 &- amount, currency: currency),
                ],
                paymentID: nil, method: .bank, profileID: nil, narration: anchor.narration
            )
            anchor.postedMinorUnits = amount
            anchor.moved = false
            opening.anchors?[currency] = anchor
        }

        // The month totals move by what this batch adds, less what the rewritten entries held before.
        var totals = journal.totals()
        // Every read of the batch comes before its first write (see `Projection.apply`). An entry the batch before
        // wrote is taken as that batch carried it: it may not be stored yet.
        for entryID in continued.sorted() {
            if let lines = connection.carried(Journal.carryKey(entryID)) as? [[SQLValue]] {
                for (key, amount) in Journal.totals(of: lines) { totals[key, default: 0] &-= amount }
                continue
            }
            for row in try await connection.query(
                "SELECT entry_date, method, currency, account, amount_minor_units FROM journal_lines WHERE entry_id = ?", [.text(entryID)]
            ) {
                let key = MonthTotalKey(month: String(try row.text(0).prefix(7)), method: try row.text(1), currency: try row.text(2), account: try row.text(3))
                totals[key, default: 0] &-= try row.integer(4)
            }
        }
        for entryID in continued.sorted() {
            try await connection.execute("DELETE FROM journal_lines WHERE entry_id = ?", [.text(entryID)])
        }
        try await journal.write(connection)
        journal.carry(connection)
        try await BulkUpsert(
            table: "book_month_totals", columns: ["month", "method", "currency", "account", "amount_minor_units"],
            onConflict: "ON CONFLICT (month, method, currency, account) DO UPDATE SET amount_minor_units = book_month_totals.amount_minor_units + excluded.amount_minor_units"
        ).write(totals.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { key, amount in
            [.text(key.month), .text(key.method), .text(key.currency), .text(key.account), .integer(amount)]
        }, connection)
        if !totals.isEmpty { try await connection.execute("DELETE FROM book_month_totals WHERE amount_minor_units = 0") }
        try await BulkUpsert(
            table: "book_balance_checks", columns: ["account", "check_date", "amount_minor_units", "currency", "statement_key", "statement_id"],
            onConflict: """
                ON CONFLICT (account, currency, check_date) DO UPDATE SET amount_minor_units = excluded.amount_minor_units,
                    statement_key = excluded.statement_key, statement_id = excluded.statement_id
                """
        ).write(checks.keys.sorted().compactMap { checks[$0] }, connection)
        for (lineKey, paymentID) in paidBackBy where movements[lineKey] != nil { movements[lineKey]?[8] = .text(paymentID) }
        try await BulkUpsert(
            table: "bank_movements",
            columns: ["line_key", "booking_date", "direction", "amount_minor_units", "currency", "counterparty", "details", "return_reason", "paid_back_payment_id"],
            onConflict: "ON CONFLICT (line_key) DO NOTHING"
        ).write(movements.keys.sorted().compactMap { movements[$0] }, connection)
        for (lineKey, paymentID) in paidBackBy.sorted(by: { $0.key < $1.key }) where movements[lineKey] == nil {
            try await connection.execute("UPDATE bank_movements SET paid_back_payment_id = ? WHERE line_key = ?", [.text(paymentID), .text(lineKey)])
        }
        let versions = Dictionary(followed.map { ($0.stream, $0.version) }) { _, last in last }
        try await paymentStates.saveAll(paymentStreams.compactMap { stream in
            payments[stream].map { (stream, versions[stream] ?? 0, $0) }
        }, connection)
        try await bankStates.saveAll([(Self.openingKey, 0, opening)], connection)
    }

    /// What one event did, in words, for its entry's narration.
    static func narration(_ event: PaymentEvent, recorded: RecordedEvent, books: PaymentBooks) -> [String] {
        switch event {
        case .received(let received):
            let what = received.purpose == .donation ? "Donation" : received.profileID == nil ? "Payment" : "Listing contribution"
            return ["\(what) by \(methodWords(received.method))\(received.profileID.map { " for \($0)" } ?? "")"]
        case .held(let hold): return ["Held for staff: \(hold.reason)"]
        case .holdResolved(let resolution):
            let actor = recorded.metadata.actor.map { " by \($0)" } ?? ""
            return ["Resolved as \(resolution.resolution.rawValue)\(actor): \(resolution.reason)"]
        case .refundReported(let refund): return ["Refund of \(refund.amount.decimalString) \(refund.status.rawValue)"]
        case .disputeUpdated(let dispute): return ["Chargeback \(dispute.disputeID): \(dispute.phase.rawValue)"]
        case .returned(let returned): return ["\(Self.returnedWords) (\(returned.reason))"]
        case .voided(let voided): return ["Voided by \(recorded.metadata.actor ?? "staff"): \(voided.reason)"]
        case .reassigned(let move): return ["Moved from \(move.from) to \(move.to) by \(recorded.metadata.actor ?? "staff"): \(move.reason)"]
        case .resolutionReopened(let reopened): return ["Resolution reopened by \(recorded.metadata.actor ?? "staff"): \(reopened.reason)"]
        case .paidBack(let paidBack):
            return ["Paid back by bank transfer, recorded by \(recorded.metadata.actor ?? "staff")\(paidBack.note.isEmpty ? "" : ": \(paidBack.note)")"]
        case .payBackReturned(let returned):
            let kept = returned.paidBack.amount.minorUnits - returned.amount.minorUnits
            let charge = kept > 0 ? " (\(returned.amount.decimalString) of \(returned.paidBack.amount.decimalString); the bank kept the rest)" : ""
            return [
                "The transfer back of \(returned.paidBack.paidOn) came back\(charge), recorded by \(recorded.metadata.actor ?? "staff"); owed to the payer again"
                    + (returned.note.isEmpty ? "" : ": \(returned.note)")
            ]
        case .givenBackByHand(let given):
            let words = ReceiptService.givenBackWords(given.kind)
            return ["\(words.prefix(1).uppercased() + words.dropFirst()) for \(given.profileID) as recorded by \(recorded.metadata.actor ?? "staff"): \(given.reason)"]
        case .pending, .failed, .refundRequested, .refundAnswered: return []
        }
    }

    static func methodWords(_ method: PaymentMethod) -> String {
        switch method {
        case .card: "card"
        case .paypal: "PayPal"
        case .bank: "bank transfer"
        case .offline: "payment recorded by staff"
        }
    }

    /// The lines of the entries of one batch, written together; an entry set again replaces its lines.
    /// A row of `book_month_totals`.
    struct MonthTotalKey: Hashable, Comparable {
        var month: String
        var method: String
        var currency: String
        var account: String

        static func < (a: Self, b: Self) -> Bool { (a.month, a.method, a.currency, a.account) < (b.month, b.method, b.currency, b.account) }
    }

    struct Journal {
        private var order: [String] = []
        private var entries: [String: [[SQLValue]]] = [:]

        func holds(_ entryID: String) -> Bool { entries[entryID] != nil }

        /// A bank line's entry.
        mutating func add(_ event: RecordedEvent, date: LocalDate, postings: [BookPosting], narration: String) {
            set(
                event.id.uuidString.lowercased(), commitOrder: event.cursor.commitOrder, position: event.cursor.position, date: date,
                postings: postings, paymentID: nil, method: .bank, profileID: nil, narration: narration
            )
        }

        mutating func set(
            _ entryID: String, commitOrder: Int64, position: Int64, date: LocalDate, postings: [BookPosting], paymentID: String?,
            method: PaymentMethod, profileID: String?, narration: String
        ) {
            if entries[entryID] == nil { order.append(entryID) }
            entries[entryID] = postings.enumerated().map { number, posting in
                [
                    .text(entryID), .integer(Int64(number)), .text(date.description), .integer(commitOrder), .integer(position),
                    .text(posting.account.rawValue), .integer(posting.minorUnits), .text(posting.currency), .optional(paymentID),
                    .text(method.rawValue), .optional(profileID), .text(String(narration.prefix(500))),
                ]
            }
        }

        /// What the entries add to each month's totals.
        func totals() -> [MonthTotalKey: Int64] {
            Self.totals(of: order.flatMap { entries[$0] ?? [] })
        }

        /// What journal rows add to each month's totals.
        static func totals(of lines: [[SQLValue]]) -> [MonthTotalKey: Int64] {
            var totals: [MonthTotalKey: Int64] = [:]
            for line in lines {
                guard case .text(let date) = line[2], case .text(let account) = line[5], case .integer(let amount) = line[6],
                      case .text(let currency) = line[7], case .text(let method) = line[9] else { continue }
                totals[MonthTotalKey(month: String(date.prefix(7)), method: method, currency: currency, account: account), default: 0] &+= amount
            }
            return totals
        }

        /// Leaves each entry's rows for the next batch, which may continue an entry before this batch is stored.
        func carry(_ connection: any ReadModelConnection) {
            for (entryID, lines) in entries { connection.carry(Self.carryKey(entryID), lines) }
        }

        static func carryKey(_ entryID: String) -> String { "entry:" + entryID }

        func write(_ connection: any ReadModelConnection) async throws {
            try await BulkUpsert(
                table: "journal_lines",
                columns: [
                    "entry_id", "line_no", "entry_date", "commit_order", "position", "account", "amount_minor_units", "currency", "payment_id",
                    "method", "profile_id", "narration",
                ],
                onConflict: "ON CONFLICT (entry_id, line_no) DO NOTHING"
            ).write(order.flatMap { entries[$0] ?? [] }, connection)
        }
    }
}

extension BooksProjection.BankOpening {
    /// Keeps a bank posting of a day before the opening in `currency` (of any day while there is none).
    mutating func note(_ minorUnits: Int64, _ currency: String, on day: String) {
        if let anchor = anchors?[currency], day >= anchor.day { return }
        postedByDay[currency, default: [:]][day, default: 0] &+= minorUnits
        if postedByDay[currency]?[day] == 0 { postedByDay[currency]?[day] = nil }
    }

    /// A statement stating `balance` at the start of `day`: the opening, unless a statement of an earlier (or the
    /// same) day stated one already.
    mutating func open(_ balance: Money, on day: LocalDate, from event: RecordedEvent, narration: String) {
        let kept = anchors?[balance.currency]
        if let kept, kept.day <= day.description { return }
        anchors = anchors ?? [:]
        anchors?[balance.currency] = Anchor(
            day: day.description, balanceMinorUnits: balance.minorUnits, narration: narration,
            entryID: kept?.entryID ?? event.id.uuidString.lowercased(), commitOrder: kept?.commitOrder ?? event.cursor.commitOrder,
            position: kept?.position ?? event.cursor.position, postedMinorUnits: kept?.postedMinorUnits ?? 0, moved: true
        )
        postedByDay[balance.currency] = postedByDay[balance.currency]?.filter { $0.key < day.description }
    }
}
