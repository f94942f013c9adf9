import Crypto
public import EventStore
public import Foundation
public import LedgerCore
public import Payments

/// Imports a bank statement: every credit line becomes a `payment-bank-…` stream (once, however often the
/// statement is imported), matched to a profile by its RF reference where it has one; everything that does
/// not check out waits in the exception queue. Debit lines are recorded in the inbox for the books; returned
/// and reversed transfers reverse the payment they return.
public struct BankStatementImport: Sendable {
    public let pipeline: PaymentPipeline
    public let index: BankIndex
    public let options: BankStatementParseOptions
    /// The body's own IBAN: the account of a statement that names none, whose days are claimed under it.
    public let ownAccount: String?
    /// Called around the pipelined batches; tests use them to change a stream between a batch's decision and
    /// its append.
    var hooks = Hooks()
    /// The largest statement file accepted, in bytes.
    public var fileBytesMax: Int { options.fileBytesMax }

    public init(pipeline: PaymentPipeline, index: BankIndex, options: BankStatementParseOptions = .init(), ownAccount: String? = nil) {
        self.pipeline = pipeline
        self.index = index
        self.options = options
        self.ownAccount = ownAccount
    }

    /// What an import did, line by line.
    public struct Summary: Sendable, Hashable, Codable {
        public var format: String
        public var statements: Int = 0
        public var lines: Int = 0
        /// Credit lines applied to a listing (or recorded as donations) without staff.
        public var matched: Int = 0
        /// Credit lines put in the exception queue.
        public var queued: Int = 0
        /// Lines imported before (same bank reference, or the same line on the same day).
        public var alreadyImported: Int = 0
        public var debits: Int = 0
        /// Returned or reversed transfers that reversed a payment.
        public var returns: Int = 0
        /// Returned or reversed transfers that match no payment (no end-to-end id, one of no payment here or of
        /// several, a payment of another amount, or a credit: money of ours that came back): recorded for the
        /// books as a bank movement, reversing nothing, so staff must find what they return.
        public var unmatchedReturns: Int = 0
        /// Lines the bank has not booked yet: not final, so not imported.
        public var notBooked: Int = 0
        /// Lines of 0.00 (a notice of the bank's): kept as read, but neither a payment nor a movement of the
        /// account, so staff are asked nothing about them.
        public var zeroAmount: Int = 0
        /// Lines booked again one at a time because their batch could not be written whole: another writer
        /// changed a stream the batch decided on (payments recorded for the same profiles meanwhile), or the
        /// batch was too large for one append. Nothing is lost or doubled; it is only slower.
        public var bookedOneByOne: Int = 0

        /// Adds the line counts of a part of the file.
        mutating func add(_ part: Summary) {
            matched += part.matched
            queued += part.queued
            alreadyImported += part.alreadyImported
            debits += part.debits
            returns += part.returns
            unmatchedReturns += part.unmatchedReturns
            notBooked += part.notBooked
            zeroAmount += part.zeroAmount
        }
    }

    /// Lines decided one after the other and appended in one transaction.
    static let linesPerBatch = 100

    /// What an import calls as its batches go; each batch is numbered from 0 in file order.
    struct Hooks: Sendable {
        /// A batch is decided and its append is about to start.
        var beforeAppending: @Sendable (_ batch: Int) async throws -> Void = { _ in }
        /// A batch's append was refused whole; its lines are booked again one by one.
        var refused: @Sendable (_ batch: Int) -> Void = { _ in }
        /// The file's booking days are decided to be claimed and about to be appended.
        var claimsDecided: @Sendable () async throws -> Void = {}
        /// Keys lines as versions before counted identical lines: pending ones among them (tests import files as
        /// such a version did).
        var countsPendingLines = false
    }

    /// Parses the whole file first (nothing is booked from a file that is malformed or does not add up), claims
    /// its booking days for its format (nothing is booked from a file with days imported before in another
    /// format: see ``BankDayClaims``), then books its lines in batches of ``linesPerBatch``, each batch in one transaction. `progress` is called
    /// with the lines booked so far each time another `progressEvery` lines are booked.
    public func importFile(
        _ url: URL, format: BankStatementFormat? = nil, metadata: EventMetadata,
        progressEvery: Int = 1_000, progress: @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> Summary {
        var lines: [BankStatementLine] = []
        let parsed = try BankStatementParser(options: options).parse(fileURL: url, format: format) { lines.append($0) }
        var summary = Summary(format: parsed.format.rawValue, statements: parsed.statements.count, lines: lines.count)
        let accounts = Dictionary(parsed.statements.map { ($0.statementIndex, $0.accountIBAN?.electronic ?? $0.accountID ?? "") }) { first, _ in first }
        let countedIn = Self.countingGroups(parsed.statements)
        let claims = BankDayClaims(store: pipeline.store, ownAccount: ownAccount, decided: hooks.claimsDecided)
        let claimAccounts = Dictionary(parsed.statements.map { ($0.statementIndex, claims.accountKey($0)) }) { first, _ in first }
        // An account holding several currencies is claimed once per currency: its statements are apart, and some
        // banks write the currency into the account (`NL91ABNA0417164300EUR`, `…USD`).
        var days: [String: BankDayClaims.FileDays] = [:]
        for line in lines where line.booked {
            let written = accounts[line.statementIndex] ?? ""
            let claimAccount = claimAccounts[line.statementIndex] ?? ownAccount ?? ""
            let account = claimAccount + " " + line.amount.currency
            // A line is known again by the account as its statement writes it, and a day is claimed with one
            // way of writing it: a file writing one account two ways would book a day's transfers twice when
            // the day comes again written the other way.
            if let before = days[account]?.written, before != written {
                throw PaymentsError(.malformed, """
                    this file writes the account \(claimAccount.isEmpty ? "of its statements" : claimAccount) in two ways, as \
                    \(before.isEmpty ? "nothing" : before) and as \(written.isEmpty ? "nothing" : written); the ledger knows a transfer again by \
                    the account as its statement writes it, so it could book the same transfer twice. Import the statements that write \
                    the account one way in one file and the others in another
                    """)
            }
            days[account, default: .init(written: written)].days.insert(line.bookingDate)
        }
        try await claims.claim(days, format: parsed.format, metadata: metadata, now: pipeline.profiles.now())
        // Payments booked just now count for suggestions and returns too.
        _ = try await ProjectionRunner(store: pipeline.store, projection: index.views).catchUp()
        var state = ImportState()
        // Each line's key in file order (identical lines are counted in that order), then the returns after every
        // other line: a return finds the credit it takes back wherever the file lists it (some banks list a
        // day's debits first).
        // Only booked lines are counted among identical ones: a pending line (never booked) that a later export
        // leaves out must not move its booked twin to another key, which would book that twin again. Versions
        // before counted pending lines too; where that gives another key (`formerKeys`), a line recorded under it
        // is found there.
        var fileKeys: [String] = []
        var formerKeys: [String?] = []
        var formerSeen: [String: Int] = [:]
        for line in lines {
            let account = accounts[line.statementIndex] ?? ""
            switch Self.identity(line, account: account) {
            case .reference(let key):
                fileKeys.append(line.booked ? key : "")
                formerKeys.append(nil)
            case .content(let content):
                let statement = countedIn[line.statementIndex] ?? line.statementIndex
                let former = Self.counted(content, statement: statement, seen: &formerSeen)
                let key = line.booked && !hooks.countsPendingLines ? Self.counted(content, statement: statement, seen: &state.seen) : former
                fileKeys.append(line.booked ? key : "")
                formerKeys.append(line.booked && former != key ? former : nil)
            }
        }
        if lines.contains(where: Self.isReturn) {
            let order = lines.indices.filter { !Self.isReturn(lines[$0]) } + lines.indices.filter { Self.isReturn(lines[$0]) }
            lines = order.map { lines[$0] }
            fileKeys = order.map { fileKeys[$0] }
            formerKeys = order.map { formerKeys[$0] }
        }
        let batch = PaymentBatch(pipeline)
        var booked = 0
        func report(_ count: Int) {
            let before = booked
            booked += count
            if progressEvery > 0, booked / progressEvery > before / progressEvery { progress(booked, lines.count) }
        }
        // A batch's lines are decided while the batch before is being written, on other threads (a hundred lines'
        // reads and decisions took about half as long as their write). A batch's append starts only once the
        // one before has been written; if that one was refused, both are booked again line by line.
        func settle(_ written: WrittenBatch) async throws -> Bool {
            let refused = try await written.wasRefused()
            if refused {
                hooks.refused(written.number)
                batch.forget()
                summary.add(try await bookOneByOne(written.unit, keys: written.keys, formerKeys: written.formerKeys, batch: batch, metadata: metadata, format: summary.format, state: &state))
                summary.bookedOneByOne += written.unit.count
            } else {
                summary.add(written.summary)
            }
            report(written.unit.count)
            return refused
        }
        var writing: WrittenBatch?
        var next = 0
        var number = -1
        while next < lines.count {
            let unit = lines[next..<min(next + Self.linesPerBatch, lines.count)]
            next += unit.count
            number += 1
            let counted = Array(fileKeys[unit.indices])
            let former = Array(formerKeys[unit.indices])
            var unitSummary = Summary(format: summary.format)
            let appends: [StreamAppend]
            do {
                try await readAhead(unit, keys: counted, formerKeys: former, into: batch, references: &state.references)
                let keys = try await decidedKeys(unit, keys: counted, formerKeys: former, batch: batch, holders: &state.referenceHolders)
                for (line, key) in zip(unit, keys) {
                    try await book(line, key: key, metadata: metadata, summary: &unitSummary, state: &state) { entry, paymentID, facts, also in
                        try await batch.record(entry, paymentID: paymentID, method: .bank, facts: facts, metadata: metadata, also: also)
                    }
                }
                appends = batch.takePending()
            } catch {
                // Nothing of this batch is written; the one before is waited for before the error is answered.
                _ = await writing?.append.result
                throw error
            }
            if let previous = writing {
                writing = nil
                if try await settle(previous) {
                    // This batch decided on what the one before would have written.
                    summary.add(try await bookOneByOne(unit, keys: counted, formerKeys: former, batch: batch, metadata: metadata, format: summary.format, state: &state))
                    summary.bookedOneByOne += unit.count
                    report(unit.count)
                    continue
                }
            }
            let store = pipeline.store
            try await hooks.beforeAppending(number)
            writing = WrittenBatch(number: number, unit: unit, keys: counted, formerKeys: former, summary: unitSummary, append: Task {
                if !appends.isEmpty { _ = try await store.append(appends) }
            })
        }
        if let last = writing {
            _ = try await settle(last)
        }
        // Each statement once its lines are booked: the books check their balance against its closing balance.
        let bookedByStatement = Dictionary(grouping: lines.lazy.filter(\.booked), by: \.statementIndex)
        for statement in parsed.statements {
            try await recordStatement(statement, lines: bookedByStatement[statement.statementIndex] ?? [], format: parsed.format, metadata: metadata)
        }
        return summary
    }

    /// A line that takes back money: a reversal or a return.
    static func isReturn(_ line: BankStatementLine) -> Bool { line.isReversal || line.returnReason != nil }

    /// A batch of lines decided and being appended.
    struct WrittenBatch {
        var number: Int
        var unit: ArraySlice<BankStatementLine>
        /// The lines' keys as counted, before ``decidedKeys(_:keys:formerKeys:batch:holders:)``.
        var keys: [String]
        var formerKeys: [String?]
        /// What the batch books, once its append is written.
        var summary: Summary
        var append: Task<Void, any Error>

        /// Waits for the append: false once written, true if it was refused whole (another writer changed a
        /// stream it decided on, or it grew too large), so that nothing of it is stored. Any other error is thrown.
        func wasRefused() async throws -> Bool {
            do {
                try await append.value
                return false
            } catch let error as EventStoreError where error.code == .versionConflict || error.code == .limitExceeded {
                return true
            }
        }
    }

    /// Books lines one by one, each deciding on the streams as stored: a batch that was refused. What its first
    /// attempt added to `state` is what this one adds again (who holds a reference, the payment of a line, whom
    /// an account paid for), so it stays; but who holds a bank reference is read again, and the keys decided
    /// again: another import may have recorded a line under one of them meanwhile (what refused the batch).
    private func bookOneByOne(
        _ unit: ArraySlice<BankStatementLine>, keys counted: [String], formerKeys: [String?], batch: PaymentBatch, metadata: EventMetadata, format: String,
        state: inout ImportState
    ) async throws -> Summary {
        state.referenceHolders = [:]
        let keys = try await decidedKeys(unit, keys: counted, formerKeys: formerKeys, batch: batch, holders: &state.referenceHolders)
        var unitSummary = Summary(format: format)
        for (line, key) in zip(unit, keys) {
            try await book(line, key: key, metadata: metadata, summary: &unitSummary, state: &state) { entry, paymentID, facts, also in
                try await pipeline.record(entry, paymentID: paymentID, method: .bank, facts: facts, metadata: metadata, also: also)
            }
        }
        return unitSummary
    }

    /// What booking a file's lines keeps from one line to the next.
    struct ImportState {
        /// How many identical booked lines came before (see ``counted(_:statement:seen:)``).
        var seen: [String: Int] = [:]
        /// Who holds each reference met so far (nil: nobody), read once per import.
        var references: [String: ProfileID?] = [:]
        /// Credits booked from this file by end-to-end id: a return in the same file, booked after them, finds
        /// them here (the index only knows earlier imports), each with its amount and booking day.
        var credits: [String: [PaymentID: (amount: Money, day: LocalDate)]] = [:]
        /// Who each payer account paid for earlier in this file: a later line from that account without a
        /// reference is suggested for the same profile (the index only knows earlier imports).
        var payers: [String: Set<ProfileID>] = [:]
        /// Payments a return earlier in this file took back, with that return's line key: a second return of
        /// one is not that payment's (the same line booked again, after its batch was refused, still is).
        var returned: [PaymentID: String] = [:]
        /// What the line holding each key made of a bank's reference says (``signature(_:)``), as recorded by an
        /// earlier import or by this one; nil inside for a record that kept no line.
        var referenceHolders: [String: String?] = [:]
    }

    /// The keys a batch's lines are booked under, decided from the inbox records read ahead before any line of
    /// the batch is booked, so a line is decided once, under its own key.
    ///
    /// - A line is known by its bank's reference, and some banks give a reference again to a later transfer (an
    ///   MT940 reference that counts each day's transfers). When the line holding the key, recorded by an earlier
    ///   import or earlier in this file, was booked on another day, this line is another transfer: its key is the
    ///   reference's key with its day added (``againKey(_:signature:)``), which an import of it again finds.
    /// - A line without a reference whose key, counted as versions before counted (pending lines too), was
    ///   recorded while its own key was not, was recorded by such a version: it keeps that key.
    private func decidedKeys(
        _ unit: ArraySlice<BankStatementLine>, keys: [String], formerKeys: [String?], batch: PaymentBatch, holders: inout [String: String?]
    ) async throws -> [String] {
        var told = keys
        for (offset, former) in formerKeys.enumerated() {
            guard let former else { continue }
            if try await batch.firstEvent(of: Self.inboxStream(keys[offset])) == nil, try await batch.firstEvent(of: Self.inboxStream(former)) != nil {
                told[offset] = former
            }
        }
        for (offset, line) in unit.enumerated() where line.booked && Self.hasOwnReference(line) {
            let key = keys[offset]
            let signature = Self.signature(line)
            let holder: String?
            if let known = holders[key] {
                holder = known
            } else if let recorded = try await batch.firstEvent(of: Self.inboxStream(key)) {
                holder = try Self.keptSignature(recorded)
                holders[key] = .some(holder)
            } else {
                holder = signature
                holders[key] = .some(signature)
            }
            // A record that kept no line (one too large to keep) tells nothing apart: the line is taken for it, as
            // it was before references were told apart, rather than risk booking that transfer again.
            if let holder, holder != signature { told[offset] = Self.againKey(key, signature: signature) }
        }
        return told
    }

    /// The inbox stream of the line known by `key`.
    static func inboxStream(_ key: String) -> String {
        StreamName.inbox(provider: "bank", eventID: key).description
    }

    /// Whether the line carries a reference of the bank's own, which its key is made of.
    static func hasOwnReference(_ line: BankStatementLine) -> Bool {
        guard let reference = line.bankReference?.trimmingCharacters(in: .whitespaces) else { return false }
        return !reference.isEmpty && reference.uppercased() != "NONREF"
    }

    /// What tells apart two transfers a bank gave one reference: the booking day (the direction is in the key
    /// already). Not the amount: a re-export listing a batch's transactions in another order, or a record of a
    /// version that wrote some currencies' amounts otherwise, would tell one transfer apart from itself and book
    /// it again; a bank reference counting each day's transfers is given again on another day.
    static func signature(_ line: BankStatementLine) -> String {
        line.bookingDate.description
    }

    /// The key of a line whose bank reference another transfer holds: the reference's key and its day.
    static func againKey(_ key: String, signature: String) -> String {
        digest("again", key, signature)
    }

    /// The day of the line an inbox record keeps (``signature(_:)``); nil when the record kept no line.
    static func keptSignature(_ recorded: RecordedEvent) throws -> String? {
        struct Kept: Decodable {
            var bookingDate: String
        }
        let decoder = CompactJSONDecoder(dates: .iso8601)
        guard let payload = try decoder.decode(InboxRecord.self, from: recorded.data).payload else { return nil }
        return try decoder.decode(Kept.self, from: Data(payload.utf8)).bookingDate
    }

    /// Reads what a batch of lines will decide on, in a few queries: the lines' inbox and payment streams, who
    /// holds the references they name, and those profiles.
    private func readAhead(
        _ unit: ArraySlice<BankStatementLine>, keys: [String], formerKeys: [String?], into batch: PaymentBatch, references: inout [String: ProfileID?]
    ) async throws {
        var streams = formerKeys.compactMap { $0.map(Self.inboxStream) }
        var named: [CreditorReference] = []
        for (line, key) in zip(unit, keys) where line.booked {
            streams.append(Self.inboxStream(key))
            guard line.direction == .credit, !line.isReversal, line.returnReason == nil, line.amount.minorUnits != 0 else { continue }
            streams.append(PaymentID(method: .bank, externalID: key).streamName)
            for reference in CreditorReference.find(in: Self.referenceText(line)) {
                switch reference.use {
                case .listing: named.append(reference)
                case .donation(let listingReference): named.append(listingReference)
                case .generalDonation: break
                }
            }
        }
        let unknown = Array(Set(named.filter { references[$0.electronic] == nil }))
        let owners = try await ReferenceClaims(store: pipeline.store).owners(of: unknown)
        for reference in unknown {
            references[reference.electronic] = .some(owners[reference])
        }
        for reference in Set(named) {
            if case let owner?? = references[reference.electronic] { streams.append(owner.streamName) }
        }
        try await batch.readAhead(streams)
    }

    /// The latest booking day on or before `today` (of this year or the last) that a statement of the body's own
    /// account (`bank.iban`, or a CSV file) brought in the tariff's currency; nil when none did.
    public func lastImportedDay(through today: LocalDate) async throws -> LocalDate? {
        guard let ownAccount else { return nil }
        let currency = pipeline.profiles.policy.tariff.entry(on: today).price.currency
        return try await BankDayClaims(store: pipeline.store, ownAccount: ownAccount).lastDay(account: ownAccount + " " + currency, through: today)
    }

    /// Records the statement's balances, once however often it is imported.
    func recordStatement(_ statement: BankStatementOverview, lines: [BankStatementLine], format: BankStatementFormat, metadata: EventMetadata) async throws {
        let account = statement.accountIBAN?.electronic ?? statement.accountID ?? ""
        let first = lines.map(\.bookingDate).min()
        let last = lines.map(\.bookingDate).max()
        let key = Self.digest(
            "statement", account, statement.statementID ?? "", statement.sequenceNumber ?? "", statement.openingBalance?.description ?? "",
            statement.closingBalance?.description ?? "", first?.description ?? "", last?.description ?? "", String(lines.count)
        )
        let event = BankStatementRecorded(
            statementKey: key, account: account, statementID: statement.statementID, format: format.rawValue,
            openingBalance: statement.openingBalance, closingBalance: statement.closingBalance, firstBookingDate: first, lastBookingDate: last,
            bookedLines: lines.count, occurredAt: pipeline.profiles.now(), closingBalanceIsIntermediate: statement.closingBalanceIsIntermediate ? true : nil
        )
        do {
            _ = try await pipeline.store.append([StreamAppend(
                stream: BankStatementRecorded.streamName(statementKey: key),
                events: [NewEvent(id: .timeOrdered(), type: BankStatementRecorded.typeName, data: try event.encodedData(), metadata: metadata)],
                expecting: .noStream
            )])
        } catch let error as EventStoreError where error.code == .versionConflict {
            // Imported before.
        }
    }

    /// A booked line that is not a payment, as the books' record of it.
    func movement(_ line: BankStatementLine, key: String, metadata: EventMetadata) throws -> (stream: String, event: NewEvent) {
        // Each text is cut, as a payment's note is: a field may hold up to 64 KiB of the file, and escaped as JSON
        // (a control character takes six bytes) a few of them would outgrow what one event may hold, failing the
        // import halfway with a limit no file can help.
        func cut(_ text: String) -> String { String(text.prefix(Self.movementTextMax)) }
        let counterparty = [line.payerName, line.payerIBAN?.electronic ?? line.payerAccount].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        let recorded = BankMovementRecorded(
            lineKey: key, isCredit: line.direction == .credit, amount: line.amount, bookingDate: line.bookingDate,
            counterparty: counterparty.isEmpty ? nil : cut(counterparty), text: cut(line.freeText),
            // A reversal the bank gives no reason for is a return all the same.
            returnReason: (line.returnReason ?? (line.isReversal ? "reversed by the bank" : nil)).map(cut), occurredAt: pipeline.profiles.now()
        )
        return (BankMovementRecorded.streamName(lineKey: key), NewEvent(id: .timeOrdered(), type: BankMovementRecorded.typeName, data: try recorded.encodedData(), metadata: metadata))
    }

    /// Records one line through `record` (a batch, or the pipeline itself).
    private func book(
        _ line: BankStatementLine, key: String, metadata: EventMetadata, summary: inout Summary, state: inout ImportState,
        record: (PaymentPipeline.InboxEntry, PaymentID?, [PaymentFact], [(stream: String, event: NewEvent)]) async throws -> PaymentPipeline.Outcome
    ) async throws {
        guard line.booked else {
            summary.notBooked += 1
            return
        }
        let entry = PaymentPipeline.InboxEntry(provider: "bank", eventID: key, eventType: Self.lineType(line), payload: try Self.payload(line))
        let paymentID: PaymentID?
        let facts: [PaymentFact]
        var also: [(stream: String, event: NewEvent)] = []
        var unmatchedReturn = false
        var matchedReturn = false
        var zero = false
        if line.amount.minorUnits == 0 {
            // Moves no money (a notice of the bank's, even one marked as a return): kept as read, asking staff
            // for nothing.
            paymentID = nil
            facts = []
            zero = true
        } else if Self.isReturn(line) {
            // A returned debit takes back a payment to us; a returned credit is money of ours that came back (a
            // refund the payer's bank refused), which takes back no payment: it is listed for staff.
            let returned = line.direction == .debit ? try await returnedPayment(line, key: key, state: state) : nil
            paymentID = returned
            facts = returned == nil ? [] : [.returned(reason: line.returnReason ?? "reversed by the bank", bookingDate: line.bookingDate)]
            if let returned {
                matchedReturn = true
                state.returned[returned] = key
            } else {
                unmatchedReturn = true
                also = [try movement(line, key: key, metadata: metadata)]
            }
        } else if line.direction == .debit {
            paymentID = nil
            facts = []
            also = [try movement(line, key: key, metadata: metadata)]
            summary.debits += 1
        } else {
            let bankPayment = PaymentID(method: .bank, externalID: key)
            paymentID = bankPayment
            facts = [try await receivedFact(line, references: &state.references, payers: &state.payers)]
            if let endToEndID = line.endToEndID { state.credits[endToEndID, default: [:]][bankPayment] = (line.amount, line.bookingDate) }
        }
        let outcome = try await record(entry, paymentID, facts, also)
        switch outcome {
        case .duplicate:
            summary.alreadyImported += 1
        case .recorded(let paymentEvents, _):
            // Counted only when recorded now: a statement imported again asks staff for nothing twice.
            if unmatchedReturn { summary.unmatchedReturns += 1 }
            if matchedReturn { summary.returns += 1 }
            if zero { summary.zeroAmount += 1 }
            guard !zero, line.direction == .credit, !line.isReversal, line.returnReason == nil else { return }
            if paymentEvents.contains(where: { if case .held = $0 { true } else { false } }) {
                summary.queued += 1
            } else {
                summary.matched += 1
            }
        }
    }

    /// The payment a returned debit takes back: the one payment, of this file's credits and the earlier imports'
    /// together, that carries its end-to-end id, arrived on or before the return's day, is of the same amount in
    /// the same currency (a return gives back what arrived), and that no return took back before. Anything else
    /// (no such payment, two, one of another amount, or one returned already) is for staff to trace, and takes
    /// back nothing: it is booked as a bank movement, so the money that left is in the books all the same.
    func returnedPayment(_ line: BankStatementLine, key: String, state: ImportState) async throws -> PaymentID? {
        guard let endToEndID = line.endToEndID else { return nil }
        // A file's returns are booked after all its credits (see `importFile`), so a credit booked after the
        // return's day (the payer sending the money again under the same id) is not the one it gives back.
        let ofFile = state.credits[endToEndID] ?? [:]
        // Every condition is asked of every candidate before the one is required: a payment returned before (the
        // payer then sent the money again under the same id) or of another amount is not a second candidate.
        func returnedBefore(_ candidate: PaymentID) -> Bool { state.returned[candidate].map { $0 != key } ?? false }
        var carriers: [PaymentID] = []
        for (candidate, credit) in ofFile where credit.day <= line.bookingDate && credit.amount == line.amount && !returnedBefore(candidate) {
            // A credit of this file may not be stored yet (its batch is still being written): its amount is kept. It
            // may also be stored from an earlier import of the same day (statements overlap), and returned since.
            if try await pipeline.loadPayment(candidate).returned == nil { carriers.append(candidate) }
        }
        for candidate in try await index.payments(endToEndID: endToEndID) where ofFile[candidate] == nil && !returnedBefore(candidate) {
            let payment = try await pipeline.loadPayment(candidate)
            guard let received = payment.received, received.effectiveDate <= line.bookingDate, received.amount == line.amount,
                  payment.returned == nil else { continue }
            carriers.append(candidate)
        }
        return carriers.count == 1 ? carriers.first : nil
    }

    /// Where a line's references are looked for: its structured reference, then its text, kept apart so that a
    /// reference in one is never read on into the other's first word.
    public static func referenceText(_ line: BankStatementLine) -> String {
        [line.structuredReference ?? "", line.freeText].joined(separator: " | ")
    }

    /// A credit line as a payment: matched by the first RF reference with valid check digits in the structured
    /// reference or anywhere in the text that names something: a profile's listing reference (a contribution),
    /// a profile's donation reference, or the general donation reference; otherwise with a suggestion from the
    /// payer's earlier transfers. References that name two or more profiles name none: the payment waits for
    /// staff to split it (`several-profiles`).
    ///
    /// Who holds a reference is read from its claim stream (written with the profile's registration), once per
    /// reference and import (`references` keeps what was read).
    func receivedFact(_ line: BankStatementLine, references: inout [String: ProfileID?], payers: inout [String: Set<ProfileID>]) async throws -> PaymentFact {
        let found = CreditorReference.find(in: Self.referenceText(line))
        var owner: ProfileID?
        var purpose: PaymentPurpose?
        // The first reference somebody holds says what the transfer pays for; every profile named is kept, since
        // a transfer naming two (one payer paying for two mediators) is for staff to split.
        var named: [ProfileID] = []
        for reference in found {
            var holder: ProfileID?
            var use: PaymentPurpose?
            switch reference.use {
            case .generalDonation:
                use = .donation
            case .donation(let listingReference):
                holder = try await self.holder(of: listingReference, references: &references)
                use = holder == nil ? nil : .donation
            case .listing:
                holder = try await self.holder(of: reference, references: &references)
                use = holder == nil ? nil : .listing
            }
            if let holder, !named.contains(holder) { named.append(holder) }
            if purpose == nil, let use { (owner, purpose) = (holder, use) }
        }
        // No suggestion for such a transfer: a click would allocate it whole to one of them.
        if named.count > 1 {
            (owner, purpose) = (nil, nil)
        } else {
            named = []
        }
        var suggestion: ProfileID?
        let account = line.payerIBAN?.electronic ?? line.payerAccount
        if purpose == nil, named.isEmpty, let account {
            let paidFor = try await index.profilesPaidFor(account: account).union(payers[account] ?? [])
            suggestion = paidFor.count == 1 ? paidFor.first : nil
        } else if let account, let owner {
            payers[account, default: []].insert(owner)
        }
        let text = [line.structuredReference ?? "", line.freeText].joined(separator: " ")
        let note = [line.payerName, account, text.trimmingCharacters(in: .whitespaces)].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " · ")
        return .received(
            amount: line.amount, purpose: purpose, profileID: owner, effectiveDate: line.bookingDate, note: note,
            suggestedProfileID: suggestion, unknownReference: purpose == nil && named.isEmpty ? found.first?.printed : nil, payerAccount: account,
            endToEndID: line.endToEndID, namedProfiles: named
        )
    }

    /// Who holds `reference`, read from its claim stream once per import.
    private func holder(of reference: CreditorReference, references: inout [String: ProfileID?]) async throws -> ProfileID? {
        if references[reference.electronic] == nil {
            references[reference.electronic] = .some(try await ReferenceClaims(store: pipeline.store).owner(of: reference))
        }
        return references[reference.electronic] ?? nil
    }

    /// What a line is known by across imports, before identical lines are counted.
    enum LineIdentity {
        /// The bank's reference, with the transaction's place in a batch and the direction: the line's key (a
        /// reference the bank gave another transfer is told apart later,
        /// ``decidedKeys(_:keys:formerKeys:batch:holders:)``).
        case reference(String)
        /// Where the bank gives none, a digest of what the line says, to be counted (``counted(_:statement:seen:)``).
        case content(String)
    }

    static func identity(_ line: BankStatementLine, account: String) -> LineIdentity {
        if hasOwnReference(line), let reference = line.bankReference?.trimmingCharacters(in: .whitespaces) {
            return .reference(digest("ref", account, reference, String(line.transactionIndex), line.direction.rawValue))
        }
        return .content(digest(
            "line", account, line.bookingDate.description, line.direction.rawValue, String(line.amount.minorUnits), line.amount.currency,
            line.payerIBAN?.electronic ?? line.payerAccount ?? "", line.payerName ?? "", line.endToEndID ?? "",
            line.structuredReference ?? "", line.freeText
        ))
    }

    /// The key of a line known by `content`: the content and how many identical booked lines came before it in its
    /// statement (`statement`: ``countingGroups(_:)``), so two identical transfers on one day are both kept, and a
    /// re-import finds both again. Counted per statement, not per file: a file holding a day's statement and the
    /// week's statement of the same account brings each line of that day twice, and the second copy is the same
    /// transfer (as it is when the two statements come in two files).
    static func counted(_ content: String, statement: Int, seen: inout [String: Int]) -> String {
        let counted = "\(statement) \(content)"
        let occurrence = seen[counted, default: 0]
        seen[counted] = occurrence + 1
        return digest(content, String(occurrence))
    }

    /// The statement each statement of a file is counted in for ``counted(_:statement:seen:)``: its own,
    /// except a further page of an MT940 statement (`:28C:42/2` after `:28C:42/1`, the same account), which is
    /// counted with the page before it: two identical transfers of one statement may fall on two pages.
    static func countingGroups(_ statements: [BankStatementOverview]) -> [Int: Int] {
        func numberAndPage(_ statement: BankStatementOverview) -> (number: Substring, page: Int)? {
            guard let text = statement.sequenceNumber else { return nil }
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let page = Int(parts[1].trimmingCharacters(in: .whitespaces)) else { return nil }
            return (parts[0], page)
        }
        var groups: [Int: Int] = [:]
        var previous: BankStatementOverview?
        for statement in statements.sorted(by: { $0.statementIndex < $1.statementIndex }) {
            if let previous, let before = numberAndPage(previous), let this = numberAndPage(statement),
               this.number == before.number, before.page < Int.max, this.page == before.page + 1,
               statement.accountID == previous.accountID, let group = groups[previous.statementIndex] {
                groups[statement.statementIndex] = group
            } else {
                groups[statement.statementIndex] = statement.statementIndex
            }
            previous = statement
        }
        return groups
    }

    /// The longest counterparty, text or return reason a bank movement keeps, in characters.
    public static let movementTextMax = ProfileDecider.textBytesMax

    static func digest(_ parts: String...) -> String {
        SHA256.hash(data: Data(parts.joined(separator: "\u{0}").utf8)).prefix(16).lowercaseHex
    }

    static func lineType(_ line: BankStatementLine) -> String {
        if line.isReversal || line.returnReason != nil { return "return" }
        return line.direction == .credit ? "credit" : "debit"
    }

    /// The statement line as kept in the inbox: what staff see when they ask where a payment came from.
    static func payload(_ line: BankStatementLine) throws -> Data {
        try StoredJSON.encode(LinePayload(line))
    }

}

/// A statement line as its inbox record keeps it: every field, `null` where the bank gave none.
private struct LinePayload: Encodable {
    let line: BankStatementLine

    init(_ line: BankStatementLine) {
        self.line = line
    }

    enum Key: String, CodingKey {
        case statement, entry, transaction, direction, amount, currency, bookingDate, valueDate, bankReference, endToEndId, payerName
        case payerAccount, structuredReference, text, reversal, returnReason
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(line.statementIndex, forKey: .statement)
        try container.encode(line.entryIndex, forKey: .entry)
        try container.encode(line.transactionIndex, forKey: .transaction)
        try container.encode(line.direction.rawValue, forKey: .direction)
        try container.encode(line.amount.decimalString, forKey: .amount)
        try container.encode(line.amount.currency, forKey: .currency)
        try container.encode(line.bookingDate.description, forKey: .bookingDate)
        try container.encode(line.valueDate?.description, forKey: .valueDate)
        try container.encode(line.bankReference, forKey: .bankReference)
        try container.encode(line.endToEndID, forKey: .endToEndId)
        try container.encode(line.payerName, forKey: .payerName)
        try container.encode(line.payerIBAN?.electronic ?? line.payerAccount, forKey: .payerAccount)
        try container.encode(line.structuredReference, forKey: .structuredReference)
        try container.encode(line.freeText, forKey: .text)
        try container.encode(line.isReversal, forKey: .reversal)
        try container.encode(line.returnReason, forKey: .returnReason)
    }
}
