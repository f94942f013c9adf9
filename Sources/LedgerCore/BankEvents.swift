public import Foundation

/// A booked statement line that is not a payment to the body: money paid out (bank charges, transfers made by
/// the body), or a return or reversal that matches no payment recorded here. Kept in its own stream
/// (`bank-movement-<line key>`), appended with the line's inbox record, so the books hold every line that
/// moved the bank account's balance.
public struct BankMovementRecorded: Sendable, Hashable, Codable {
    public static let typeName = "BankMovementRecorded"

    /// The line's identity across imports (the same key as its inbox record).
    public var lineKey: String
    /// True for money in, false for money out.
    public var isCredit: Bool
    /// Always positive; ``isCredit`` says which way.
    public var amount: Money
    public var bookingDate: LocalDate
    /// The other party's name and account, as the bank wrote them.
    public var counterparty: String?
    public var text: String
    /// The bank's return reason code, for a return that matched no payment.
    public var returnReason: String?
    public var occurredAt: Date

    public init(
        lineKey: String, isCredit: Bool, amount: Money, bookingDate: LocalDate, counterparty: String?, text: String, returnReason: String?,
        occurredAt: Date
    ) {
        self.lineKey = lineKey
        self.isCredit = isCredit
        self.amount = amount
        self.bookingDate = bookingDate
        self.counterparty = counterparty
        self.text = text
        self.returnReason = returnReason
        self.occurredAt = occurredAt
    }

    public static func streamName(lineKey: String) -> String { StreamName.bankMovement(lineKey: lineKey).description }

    public func encodedData() throws -> Data { try ProfileEvent.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> BankMovementRecorded {
        try ProfileEvent.decoder.decode(BankMovementRecorded.self, from: data)
    }
}

/// A bank line of money going out paid a payment back (staff said so). Kept in its own stream
/// (`paid-back-<line key>`, expecting none) before the payment records ``PaymentPaidBack``, so one transfer pays
/// back one payment at most.
public struct BankLinePaidBack: Sendable, Hashable, Codable {
    public static let typeName = "BankLinePaidBack"

    public var lineKey: String
    public var paymentID: PaymentID
    public var occurredAt: Date

    public init(lineKey: String, paymentID: PaymentID, occurredAt: Date) {
        self.lineKey = lineKey
        self.paymentID = paymentID
        self.occurredAt = occurredAt
    }

    public static func streamName(lineKey: String) -> String { StreamName.paidBackBy(lineKey: lineKey).description }

    public func encodedData() throws -> Data { try ProfileEvent.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> BankLinePaidBack {
        try ProfileEvent.decoder.decode(BankLinePaidBack.self, from: data)
    }
}

/// A bank line of money coming in was the transfer that paid a payment back, come back (staff said so). Kept in its
/// own stream (`pay-back-returned-<line key>`, expecting none) before the payment records ``PaymentPayBackReturned``,
/// so one line returns one payment's transfer at most.
public struct BankLinePayBackReturned: Sendable, Hashable, Codable {
    public static let typeName = "BankLinePayBackReturned"

    public var lineKey: String
    public var paymentID: PaymentID
    public var occurredAt: Date

    public init(lineKey: String, paymentID: PaymentID, occurredAt: Date) {
        self.lineKey = lineKey
        self.paymentID = paymentID
        self.occurredAt = occurredAt
    }

    public static func streamName(lineKey: String) -> String { StreamName.payBackReturnedBy(lineKey: lineKey).description }

    public func encodedData() throws -> Data { try ProfileEvent.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> BankLinePayBackReturned {
        try ProfileEvent.decoder.decode(BankLinePayBackReturned.self, from: data)
    }
}

/// A bank statement was imported: its balances as the bank stated them. Appended after every line of the
/// statement was booked, in a stream of its own (`bank-statement-<key>`, expecting none), so an import that is
/// repeated records it once.
///
/// The books take the bank account's opening balance from the first statement that states one, and check
/// their balance against each statement's closing balance.
public struct BankStatementRecorded: Sendable, Hashable, Codable {
    public static let typeName = "BankStatementRecorded"

    /// The statement's identity across imports.
    public var statementKey: String
    /// The account (IBAN, or the bank's account id) the statement is for.
    public var account: String
    /// The bank's statement id, if it gives one.
    public var statementID: String?
    /// `camt053`, `mt940` or `csv`.
    public var format: String
    public var openingBalance: Money?
    public var closingBalance: Money?
    /// `true` when the closing balance is an intermediate one (MT940 `:62M:`, where a page of a statement ends,
    /// perhaps partway through a day); absent when it is final, as in every record written before this was kept.
    public var closingBalanceIsIntermediate: Bool?
    /// The first and last booking dates of its booked lines; nil for a statement without booked lines.
    public var firstBookingDate: LocalDate?
    public var lastBookingDate: LocalDate?
    /// Booked lines on the statement.
    public var bookedLines: Int
    public var occurredAt: Date

    public init(
        statementKey: String, account: String, statementID: String?, format: String, openingBalance: Money?, closingBalance: Money?,
        firstBookingDate: LocalDate?, lastBookingDate: LocalDate?, bookedLines: Int, occurredAt: Date, closingBalanceIsIntermediate: Bool? = nil
    ) {
        self.statementKey = statementKey
        self.closingBalanceIsIntermediate = closingBalanceIsIntermediate
        self.account = account
        self.statementID = statementID
        self.format = format
        self.openingBalance = openingBalance
        self.closingBalance = closingBalance
        self.firstBookingDate = firstBookingDate
        self.lastBookingDate = lastBookingDate
        self.bookedLines = bookedLines
        self.occurredAt = occurredAt
    }

    public static func streamName(statementKey: String) -> String { StreamName.bankStatement(statementKey: statementKey).description }

    public func encodedData() throws -> Data { try ProfileEvent.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> BankStatementRecorded {
        try ProfileEvent.decoder.decode(BankStatementRecorded.self, from: data)
    }
}

/// Booking days of one account imported from a statement of one format, claimed before the statement's lines
/// are booked (`bank-days-<year>-<account key>`, one stream per account and year). A line is known across
/// imports by a key that depends on how its format writes it and how the statement writes the account, so the
/// same day imported again in another format, or with the account written otherwise, would be booked twice: a
/// day claimed one way is refused to the others.
public struct BankDaysImported: Sendable, Hashable, Codable {
    public static let typeName = "BankDaysImported"

    /// The account as the claim knows it, followed by a space and the currency of its lines: the IBAN (a German
    /// MT940 account given as bank code and account number is taken as the IBAN it stands for; a domestic
    /// number of the body's own account, or no account at all, as the body's own IBAN), the statement's own text
    /// otherwise.
    public var account: String
    /// The account as the statement wrote it (empty for a statement that names none): lines are known by it.
    public var written: String
    /// `camt053`, `mt940` or `csv`.
    public var format: String
    /// The days claimed by this import, each not claimed before, in order.
    public var days: [LocalDate]
    public var occurredAt: Date

    public init(account: String, written: String, format: String, days: [LocalDate], occurredAt: Date) {
        self.account = account
        self.written = written
        self.format = format
        self.days = days
        self.occurredAt = occurredAt
    }

    public func encodedData() throws -> Data { try ProfileEvent.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> BankDaysImported {
        try ProfileEvent.decoder.decode(BankDaysImported.self, from: data)
    }
}
