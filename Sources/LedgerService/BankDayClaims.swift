import EventStore
import Foundation
import LedgerCore
import Logging
import Payments

/// Which format each booking day of an account was imported in, and how the account was written
/// (``BankDaysImported``, one stream per account and year). A statement line is known across imports by a key
/// that depends on how its format writes the line and the account, so the same day imported again in another
/// format, or with the account written another way, would book its transfers twice. The import claims its days
/// before it books a line; a file with a day claimed otherwise is refused whole.
struct BankDayClaims: Sendable {
    let store: any EventStore
    /// The body's own IBAN: the account of a statement that names none (the CSV layout has no account column).
    let ownAccount: String?
    /// Called once the claim is decided, before it is appended; tests use it to let two imports decide at once.
    var decided: @Sendable () async throws -> Void = {}

    /// How often a claim is tried again after another import claimed days of the same streams meanwhile.
    static let attemptsMax = 10

    /// The account a statement's days are claimed under: its IBAN (also when a currency code follows it, as some
    /// banks write it); for a German MT940 account given as bank code and account number (`37040044/0532013000`),
    /// the IBAN made of them; the body's own IBAN for its domestic account number (``isDomesticNumber(_:of:)``)
    /// and for a statement that names no account; the statement's own text for any other account.
    func accountKey(_ statement: BankStatementOverview) -> String {
        if let iban = statement.accountIBAN { return iban.electronic }
        let text = (statement.accountID ?? "").trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return ownAccount ?? "" }
        let withoutCurrency = Self.droppingCurrency(Substring(text))
        if withoutCurrency.count < text.count, let iban = IBAN(parsing: withoutCurrency) { return iban.electronic }
        if let german = Self.germanIBAN(text) { return german }
        if let ownAccount, Self.isDomesticNumber(text, of: ownAccount) { return ownAccount }
        return text
    }

    /// The text without a currency code (three capital letters) after a longer text.
    static func droppingCurrency(_ text: Substring) -> Substring {
        text.count > 3 && text.suffix(3).allSatisfy({ $0.isASCII && $0.isUppercase }) ? text.dropLast(3) : text
    }

    /// Whether `text` is the domestic number of the account `iban`, as Dutch MT940 files write it (`417164300`,
    /// `0417164300`, `ABNA/0417164300`, perhaps followed by a currency code, spaces ignored): digits after an
    /// optional bank name and a slash, whose significant digits are the whole of the IBAN's account number (what
    /// precedes them in the IBAN's account part is the bank's letters or padding zeros).
    static func isDomesticNumber(_ text: String, of iban: String) -> Bool {
        var number = Substring(text.filter { !$0.isWhitespace })
        if let slash = number.lastIndex(of: "/") { number = number[number.index(after: slash)...] }
        number = droppingCurrency(number)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        let significant = number.drop { $0 == "0" }
        guard !significant.isEmpty, iban.hasSuffix(significant) else { return false }
        // What comes before the number in the IBAN's account part is the bank's letters or padding zeros.
        let before = iban.dropLast(significant.count).dropFirst(4)
        return before.reversed().prefix { $0.isASCII && $0.isNumber }.allSatisfy { $0 == "0" }
    }

    /// The German IBAN of `BLZ/account` (8 digits, a slash, 1 to 10 digits, perhaps followed by a currency code
    /// as some banks write it): `DE`, the check digits, the bank code and the account number padded to 10 digits.
    static func germanIBAN(_ text: String) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let bankCode = parts[0]
        let account = droppingCurrency(parts[1])
        guard bankCode.count == 8, (1...10).contains(account.count),
              bankCode.allSatisfy({ $0.isASCII && $0.isNumber }), account.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        return IBAN(country: "DE", bban: bankCode + String(repeating: "0", count: 10 - account.count) + account)?.electronic
    }

    /// The days of one account a file brings, and how the file writes the account (its lines' keys hold that).
    struct FileDays: Sendable {
        var written: String
        var days: Set<LocalDate> = []
    }

    /// Who brought a day: a format, with the account written one way.
    struct Source: Hashable {
        var format: String
        var written: String
    }

    /// Claims the days of each account (by ``accountKey(_:)`` and currency) for `format` and the account as written. Days
    /// claimed before the same way stay as they are; if any was claimed by another format, or with the account
    /// written another way, nothing is written and the import is refused (`importedInAnotherFormat`).
    func claim(_ days: [String: FileDays], format: BankStatementFormat, metadata: EventMetadata, now: Date) async throws {
        try await claimRetrying(days, format: format, metadata: metadata, now: now, backfillingEnds: nil)
    }

    /// ``claim(_:format:metadata:now:)``, tried again on a conflict; returns the days appended.
    @discardableResult
    private func claimRetrying(
        _ days: [String: FileDays], format: BankStatementFormat, metadata: EventMetadata, now: Date, backfillingEnds: Set<LocalDate>?
    ) async throws -> Int {
        var attempt = 1
        while true {
            do {
                return try await claimOnce(days, format: format, metadata: metadata, now: now, backfillingEnds: backfillingEnds)
            } catch let error as EventStoreError where error.code == .versionConflict && attempt < Self.attemptsMax {
                // Another import claimed days of the same account and year meanwhile: decide again on what it wrote.
                attempt += 1
            }
        }
    }

    /// One attempt. Backfilling (`backfillingEnds`: a recorded statement's first and last day) refuses nothing:
    /// a statement with either end claimed already is left alone, and of the others only days nobody claimed are
    /// claimed.
    private func claimOnce(
        _ days: [String: FileDays], format: BankStatementFormat, metadata: EventMetadata, now: Date, backfillingEnds: Set<LocalDate>?
    ) async throws -> Int {
        var wanted: [String: (account: String, file: FileDays)] = [:]
        for (account, file) in days {
            for day in file.days {
                wanted[Self.stream(account: account, year: day.year), default: (account, FileDays(written: file.written))].file.days.insert(day)
            }
        }
        var clashes: [(day: LocalDate, account: String, source: Source)] = []
        var appends: [StreamAppend] = []
        var appended = 0
        for (stream, want) in wanted.sorted(by: { $0.key < $1.key }) {
            let (claimed, version) = try await read(stream)
            if let ends = backfillingEnds, !ends.isDisjoint(with: claimed.keys) { return 0 }
            let mine = Source(format: format.rawValue, written: want.file.written)
            for day in want.file.days {
                if let other = claimed[day], other != mine { clashes.append((day, want.account, other)) }
            }
            let new = want.file.days.filter { claimed[$0] == nil }.sorted()
            guard !new.isEmpty else { continue }
            appended += new.count
            let event = BankDaysImported(account: want.account, written: want.file.written, format: format.rawValue, days: new, occurredAt: now)
            appends.append(StreamAppend(
                stream: stream,
                events: [NewEvent(id: .timeOrdered(), type: BankDaysImported.typeName, data: try event.encodedData(), metadata: metadata)],
                expecting: version == 0 ? .noStream : .exact(version)
            ))
        }
        if backfillingEnds == nil, !clashes.isEmpty { throw Self.refusal(clashes, format: format) }
        try await decided()
        if !appends.isEmpty { _ = try await store.append(appends) }
        return appended
    }

    /// `bank-days-checked`: how far the log was checked for statements recorded without claims.
    static let progressStream = StreamName.bankDaysChecked.description
    /// The longest statement whose days a backfill claims: a year.
    static let backfilledDaysMax = 366

    /// Claims the days of statements imported by a version from before the claims, from their
    /// `BankStatementRecorded` (the account as written, the format, the first and last booking day): each day
    /// from the first to the last that nobody claimed, for the statement's format and spelling, so that another
    /// format may not bring them again. A statement with its first or last day claimed was imported with claims
    /// and is left alone. The log is read from where the last check got to (``LogBackfill``). `currency` is that
    /// of a statement without balances (CSV). Returns the days claimed.
    @discardableResult
    func backfill(currency: String, now: Date, logger: Logger) async throws -> Int {
        let metadata = EventMetadata(actor: "system:bank-days")
        let check = LogBackfill(store: store, progressStream: Self.progressStream, progressType: "BankDaysChecked")
        let claimed = try await check.run(metadata: metadata) { batch in
            var claimed = 0
            for recorded in batch where recorded.type == BankStatementRecorded.typeName {
                let statement = try BankStatementRecorded.decode(recorded.data)
                // A record from before statement dates were bounded may name a day at the end of the calendar,
                // where adding a day gives the same day: such a record is left alone, and the days are counted
                // rather than walked to the last one.
                guard let format = BankStatementFormat(rawValue: statement.format), let first = statement.firstBookingDate,
                      let lastDay = statement.lastBookingDate, LedgerBounds.contains(first), LedgerBounds.contains(lastDay),
                      first <= lastDay, first.days(until: lastDay) < Self.backfilledDaysMax
                else { continue }
                let written = statement.account
                let overview = BankStatementOverview(
                    format: format, statementIndex: 0, accountID: written.isEmpty ? nil : written, accountIBAN: IBAN(parsing: written)
                )
                let account = accountKey(overview) + " " + (statement.closingBalance?.currency ?? statement.openingBalance?.currency ?? currency)
                var file = FileDays(written: written)
                for offset in 0...first.days(until: lastDay) {
                    file.days.insert(first.addingDays(offset))
                }
                claimed += try await claimRetrying([account: file], format: format, metadata: metadata, now: now, backfillingEnds: [first, lastDay])
            }
            return claimed
        }
        if claimed > 0 {
            logger.notice("claimed the days of statements imported before days were claimed", metadata: ["days": "\(claimed)"])
        }
        return claimed
    }

    /// The latest day on or before `today`, of this year or the year before, that a statement of `account` brought.
    func lastDay(account: String, through today: LocalDate) async throws -> LocalDate? {
        for year in [today.year, today.year - 1] {
            let (claimed, _) = try await read(Self.stream(account: account, year: year))
            if let last = claimed.keys.filter({ $0 <= today }).max() { return last }
        }
        return nil
    }

    /// The stream of an account's (with its currency) claims of one year.
    static func stream(account: String, year: Int) -> String {
        StreamName.bankDays(year: year, accountKey: BankStatementImport.digest("account", account)).description
    }

    /// Who brought each day of a stream, and the stream's version.
    private func read(_ stream: String) async throws -> (claimed: [LocalDate: Source], version: Int64) {
        var claimed: [LocalDate: Source] = [:]
        var version: Int64 = 0
        let page = store.limits.readBatchMax
        while true {
            let events = try await store.readStream(stream, fromVersion: version + 1, limit: page)
            for recorded in events {
                version = recorded.version
                guard recorded.type == BankDaysImported.typeName else { continue }
                let imported = try BankDaysImported.decode(recorded.data)
                let source = Source(format: imported.format, written: imported.written)
                for day in imported.days where claimed[day] == nil { claimed[day] = source }
            }
            if events.count < page { return (claimed, version) }
        }
    }

    /// What staff read: which days, of which account, came in which format (and with the account written how, if
    /// not as this file writes it), and what to do instead.
    static func refusal(_ clashes: [(day: LocalDate, account: String, source: Source)], format: BankStatementFormat) -> PaymentsError {
        let days = Set(clashes.map(\.day)).sorted()
        let first = days.first.map(\.description) ?? ""
        let last = days.last.map(\.description) ?? ""
        let span = days.count == 1 ? first : days.count == 2 ? "\(first) and \(last)" : "\(first) to \(last)"
        let accounts = Set(clashes.map(\.account)).sorted().map { $0.isEmpty ? "not named" : $0 }.joined(separator: ", ")
        let formats = Set(clashes.map(\.source.format)).sorted().map(name).joined(separator: " and ")
        let one = days.count == 1
        let named = name(format.rawValue)
        if Set(clashes.map(\.source.format)) == [format.rawValue] {
            let written = Set(clashes.map(\.source.written)).sorted().map { $0.isEmpty ? "no account" : $0 }.joined(separator: " and ")
            return PaymentsError(.importedInAnotherFormat, """
                \(one ? "1 day" : "\(days.count) days") of this \(named) statement (\(span), account \(accounts)) \(one ? "was" : "were") \
                already imported from a statement writing the account as \(written); booking \(one ? "it" : "them") again with the \
                account written another way would book \(one ? "its" : "their") transfers twice. Import \(one ? "this day" : "these days") \
                from a statement writing the account as \(written), or a statement without \(one ? "it" : "them")
                """)
        }
        return PaymentsError(.importedInAnotherFormat, """
            \(one ? "1 day" : "\(days.count) days") of this \(named) statement (\(span), account \(accounts)) \(one ? "was" : "were") \
            already imported from \(formats); booking \(one ? "it" : "them") again from another format would book \(one ? "its" : "their") \
            transfers twice. Import each period in one format: \(one ? "this day" : "these days") again from the \(formats) \
            statement, or a \(named) statement without \(one ? "it" : "them")
            """)
    }

    static func name(_ format: String) -> String {
        switch BankStatementFormat(rawValue: format) {
        case .camt053: "camt.053"
        case .mt940: "MT940"
        case .csv: "CSV"
        case nil: format
        }
    }
}
