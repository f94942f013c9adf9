import EventStore
import Foundation
import LedgerCore
import Payments

/// Which format each booking day of an account was imported in (``BankDaysImported``, one stream per account and
/// year). A statement line is known across imports by a key that depends on how its format writes the line, so
/// the same day imported again in another format would book its transfers twice. The import claims its days
/// before it books a line; a file with a day that another format claimed is refused whole.
struct BankDayClaims: Sendable {
    let store: any EventStore
    /// The body's own IBAN: the account of a statement that names none (the CSV layout has no account column).
    let ownAccount: String?
    /// Called once the claim is decided, before it is appended; tests use it to let two imports decide at once.
    var decided: @Sendable () async throws -> Void = {}

    /// How often a claim is tried again after another import claimed days of the same streams meanwhile.
    static let attemptsMax = 3

    /// The account a statement's days are claimed under: its IBAN; for a German MT940 account given as bank code
    /// and account number (`37040044/0532013000`), the IBAN that stands for; the statement's own text for any
    /// other account; the body's own IBAN for a statement that names none.
    func accountKey(_ statement: BankStatementOverview) -> String {
        if let iban = statement.accountIBAN { return iban.electronic }
        let text = (statement.accountID ?? "").trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return ownAccount ?? "" }
        return Self.germanIBAN(text) ?? text
    }

    /// The German IBAN of `BLZ/account` (8 digits, a slash, 1 to 10 digits, perhaps followed by a currency code
    /// as some banks write it): `DE`, the check digits, the bank code and the account number padded to 10 digits.
    static func germanIBAN(_ text: String) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let bankCode = parts[0]
        var account = parts[1]
        if account.count > 3, account.suffix(3).allSatisfy({ $0.isASCII && $0.isUppercase }) { account = account.dropLast(3) }
        guard bankCode.count == 8, (1...10).contains(account.count),
              bankCode.allSatisfy({ $0.isASCII && $0.isNumber }), account.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        let bban = bankCode + String(repeating: "0", count: 10 - account.count) + account
        // ISO 13616: the check digits make BBAN + "DE00" (D = 13, E = 14) leave 1 modulo 97.
        var remainder = 0
        for digit in (bban + "131400").utf8 { remainder = (remainder * 10 + Int(digit - UInt8(ascii: "0"))) % 97 }
        let check = 98 - remainder
        let iban = "DE" + (check < 10 ? "0" : "") + String(check) + bban
        return IBAN(parsing: iban)?.electronic
    }

    /// Claims `days` (by account) for `format`. Days this format claimed before stay as they are; if another
    /// format claimed any of them, nothing is written and the import is refused (`importedInAnotherFormat`).
    func claim(_ days: [String: Set<LocalDate>], format: BankStatementFormat, metadata: EventMetadata, now: Date) async throws {
        var attempt = 1
        while true {
            do {
                try await claimOnce(days, format: format, metadata: metadata, now: now)
                return
            } catch let error as EventStoreError where error.code == .versionConflict && attempt < Self.attemptsMax {
                // Another import claimed days of the same account and year meanwhile: decide again on what it wrote.
                attempt += 1
            }
        }
    }

    private func claimOnce(_ days: [String: Set<LocalDate>], format: BankStatementFormat, metadata: EventMetadata, now: Date) async throws {
        var wanted: [String: (account: String, days: Set<LocalDate>)] = [:]
        for (account, accountDays) in days {
            let accountKey = BankStatementImport.digest("account", account)
            for day in accountDays {
                wanted[StreamName.bankDays(year: day.year, accountKey: accountKey).description, default: (account, [])].days.insert(day)
            }
        }
        var clashes: [(day: LocalDate, account: String, format: String)] = []
        var appends: [StreamAppend] = []
        for (stream, want) in wanted.sorted(by: { $0.key < $1.key }) {
            let (claimed, version) = try await read(stream)
            for day in want.days {
                if let other = claimed[day], other != format.rawValue { clashes.append((day, want.account, other)) }
            }
            let new = want.days.filter { claimed[$0] == nil }.sorted()
            guard !new.isEmpty else { continue }
            let event = BankDaysImported(account: want.account, format: format.rawValue, days: new, occurredAt: now)
            appends.append(StreamAppend(
                stream: stream,
                events: [NewEvent(id: .timeOrdered(), type: BankDaysImported.typeName, data: try event.encodedData(), metadata: metadata)],
                expecting: version == 0 ? .noStream : .exact(version)
            ))
        }
        if !clashes.isEmpty { throw Self.refusal(clashes, format: format) }
        try await decided()
        if !appends.isEmpty { _ = try await store.append(appends) }
    }

    /// The format that claimed each day of a stream, and the stream's version.
    private func read(_ stream: String) async throws -> (claimed: [LocalDate: String], version: Int64) {
        var claimed: [LocalDate: String] = [:]
        var version: Int64 = 0
        let page = store.limits.readBatchMax
        while true {
            let events = try await store.readStream(stream, fromVersion: version + 1, limit: page)
            for recorded in events {
                version = recorded.version
                guard recorded.type == BankDaysImported.typeName else { continue }
                let imported = try BankDaysImported.decode(recorded.data)
                for day in imported.days where claimed[day] == nil { claimed[day] = imported.format }
            }
            if events.count < page { return (claimed, version) }
        }
    }

    /// What staff read: which days, of which account, came in which format, and what to do instead.
    static func refusal(_ clashes: [(day: LocalDate, account: String, format: String)], format: BankStatementFormat) -> PaymentsError {
        let days = Set(clashes.map(\.day)).sorted()
        let first = days.first.map(\.description) ?? ""
        let last = days.last.map(\.description) ?? ""
        let span = first == last ? first : "\(first) to \(last)"
        let earlier = Set(clashes.map(\.format)).sorted().map(name).joined(separator: " and ")
        let accounts = Set(clashes.map(\.account)).sorted().map { $0.isEmpty ? "not named" : $0 }.joined(separator: ", ")
        let one = days.count == 1
        let named = name(format.rawValue)
        return PaymentsError(.importedInAnotherFormat, """
            \(one ? "1 day" : "\(days.count) days") of this \(named) statement (\(span), account \(accounts)) \(one ? "was" : "were") \
            already imported from \(earlier); booking \(one ? "it" : "them") again from another format would book \(one ? "its" : "their") \
            transfers twice. Import each period in one format: \(one ? "this day" : "these days") again from the \(earlier) \
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
