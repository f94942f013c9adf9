import Foundation
import LedgerCore
import LedgerService

/// How the console says things: amounts as €125.00, dates as 14 January 2027 in the organisation's zone,
/// statuses and reasons as sentences.
struct ConsoleWords: Sendable {
    let calendar: OrganisationCalendar

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]

    /// "€125.00", "−€10.00", or "125.00 USD" for another currency.
    static func money(_ money: Money) -> String {
        let text = money.decimalString
        let negative = text.hasPrefix("-")
        let digits = negative ? String(text.dropFirst()) : text
        let amount = money.currency == "EUR" ? "€\(digits)" : "\(digits) \(money.currency)"
        return negative ? "−\(amount)" : amount
    }

    /// A decimal text in EUR (as the read models hold it) in words; the text itself if it is not one.
    static func euros(_ decimal: String?, currency: String? = "EUR") -> String {
        guard let decimal else { return "—" }
        guard let money = try? Money(parsing: decimal.hasPrefix("-") ? String(decimal.dropFirst()) : decimal, currency: currency ?? "EUR") else { return decimal }
        return self.money(decimal.hasPrefix("-") ? Money(minorUnits: -money.minorUnits, currency: money.currency) : money)
    }

    static func euros(minorUnits: Int64) -> String { money(.euros(minorUnits: minorUnits)) }

    /// "14 January 2027".
    static func date(_ date: LocalDate) -> String { "\(date.day) \(monthNames[date.month - 1]) \(date.year)" }

    /// An ISO date text in words; the text itself if it is not one.
    static func date(_ text: String?) -> String {
        guard let text else { return "—" }
        return LocalDate(iso: text).map { date($0) } ?? text
    }

    /// "January 2027" for "2027-01".
    static func month(_ text: String) -> String {
        guard let date = LocalDate(iso: text + "-01") else { return text }
        return "\(monthNames[date.month - 1]) \(date.year)"
    }

    /// "30 November 2026, 18:04" in the organisation's zone.
    func instant(_ instant: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = self.calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
        guard let year = parts.year, let month = parts.month, let day = parts.day, let hour = parts.hour, let minute = parts.minute,
              (1...12).contains(month) else { return instant.formatted(.iso8601) }
        return "\(day) \(Self.monthNames[month - 1]) \(year), \(hour < 10 ? "0" : "")\(hour):\(minute < 10 ? "0" : "")\(minute)"
    }

    static func method(_ method: String?) -> String {
        switch method {
        case "card": "card"
        case "paypal": "PayPal"
        case "bank_transfer", "bank-transfer", "bank": "bank transfer"
        case "offline": "offline payment"
        case let other?: other.replacingOccurrences(of: "_", with: " ")
        case nil: "—"
        }
    }

    /// What a payment is, once staff decided it is not what it arrived as (a payout, not a contribution).
    static func purpose(_ purpose: String?, resolution: String?) -> String {
        let decided = PaymentListPurpose(said: purpose.flatMap(PaymentPurpose.init(rawValue:)), decided: resolution.flatMap(HoldResolution.init(rawValue:)))
        return Self.purpose(decided?.rawValue ?? purpose)
    }

    /// The payout decision a bank transfer's words suggest, and the provider in words: a transfer whose payer or
    /// text names Stripe (the card provider) or PayPal. Only a suggestion: staff still choose it.
    static func payoutNamed(in details: String?) -> (resolution: String, provider: String)? {
        guard let words = details?.lowercased() else { return nil }
        if words.contains("stripe") { return ("card-payout", "the card provider") }
        if words.contains("paypal") { return ("paypal-payout", "PayPal") }
        return nil
    }

    /// A stored resolution with its reason (`refund: paid twice`), in words.
    static func resolutionWithReason(_ stored: String?) -> String {
        guard let stored, let colon = stored.range(of: ": ") else { return resolution(stored) }
        return "\(resolution(String(stored[..<colon.lowerBound]))): \(stored[colon.upperBound...])"
    }

    static func purpose(_ purpose: String?) -> String {
        switch purpose {
        case "listing": "listing contribution"
        case "donation": "donation"
        case "not-contribution": "not a contribution"
        case "card-payout": "payout from the card provider"
        case "paypal-payout": "payout from PayPal"
        case let other?: other
        case nil: "not known yet"
        }
    }

    static func status(_ status: String) -> String {
        switch status {
        case "pending": "Not listed yet"
        case "active": "Listed"
        case "grace": "Listed, in grace"
        case "waived": "Listed by waiver"
        case "expired": "Expired"
        case "suspended": "Suspended"
        default: status
        }
    }

    static func hiddenReason(_ reason: String?) -> String {
        switch reason {
        case "not_registered": "the profile is not registered"
        case "not_certified": "the profile is not certified yet"
        case "certification_suspended": "the certification is suspended"
        case "certification_revoked": "the certification was revoked"
        case "never_paid": "no contribution has been paid yet"
        case "expired": "the contribution ran out"
        case "refunded": "the contribution was paid back"
        case "waiver_ended": "the waiver ended"
        case let other?: other.replacingOccurrences(of: "_", with: " ")
        case nil: "no reason recorded"
        }
    }

    static func resolution(_ resolution: String?) -> String {
        switch resolution {
        case "allocate": "allocated to a profile"
        case "split": "split across profiles"
        case "donation": "kept as a donation"
        case "accept-short": "accepted as a full contribution"
        case "not-contribution": "recorded as not a contribution"
        case "refund": "to be paid back"
        case "card-payout": "a payout from the card provider"
        case "paypal-payout": "a payout from PayPal"
        case let other?: other
        case nil: "—"
        }
    }

    static func paymentState(_ state: String) -> String {
        switch state {
        case "pending": "started, not paid yet"
        case "failed": "failed"
        case "held": "waiting for staff"
        case "counted": "counted"
        case "partly-refunded": "partly paid back"
        case "refunded": "paid back"
        case "returned": "returned by the bank"
        case "charged-back": "charged back"
        case "voided": "voided"
        case "to-refund": "to be paid back"
        default: state.replacingOccurrences(of: "-", with: " ")
        }
    }

    /// A step of a payment's history in words (a step of a type this build does not know keeps its name).
    static func paymentStep(_ type: String) -> String {
        switch type {
        case "PaymentReceived": "Money received"
        case "PaymentPending": "Payment started, not paid yet"
        case "PaymentFailed": "The payment failed"
        case "PaymentHeld": "Held for a decision by staff"
        case "PaymentHoldResolved": "Decided by staff"
        case "PaymentResolutionReopened": "The decision was reopened"
        case "PaymentReassigned": "Moved to another profile"
        case "PaymentVoided": "Voided"
        case "PaymentRefundRequested": "A refund was asked of the provider"
        case "PaymentRefundAnswered": "The provider answered the refund request"
        case "PaymentRefundReported": "The provider reported a refund"
        case "PaymentDisputeUpdated": "A dispute (chargeback) changed"
        case "PaymentReturned": "Returned by the bank"
        case "PaymentPaidBack": "Paid back by bank transfer"
        case "PaymentPayBackReturned": "The bank returned our transfer back"
        case "PaymentGivenBackByHand": "Given back by hand"
        default: type
        }
    }

    /// Who did something, as a person reads it: "Anna Berger" for a console user, "the staff key “tools”" for
    /// an API key, "the payment provider" for a webhook.
    static func actor(_ actor: String?) -> String? {
        guard let actor, !actor.isEmpty else { return nil }
        if actor.hasPrefix("user:") {
            let rest = actor.dropFirst("user:".count)
            return String(rest.split(separator: "<").first ?? rest).trimmingCharacters(in: .whitespaces)
        }
        for role in ["staff", "website", "directory"] where actor.hasPrefix(role + ":") {
            return "the \(role) key “\(actor.dropFirst(role.count + 1))”"
        }
        return actor
    }

    /// What an upload over `bytesMax` is told.
    static func fileTooLarge(_ bytesMax: Int) -> String {
        "The file is too large for one upload, which holds at most \(size(bytesMax)) with the form around the file. Nothing was imported. Ask the bank for statements of fewer days, or split the file, and import the parts one by one."
    }

    /// A size in bytes as a person reads it: whole MiB or KiB where it is one, else bytes.
    static func size(_ bytes: Int) -> String {
        if bytes > 0, bytes % 1_048_576 == 0 { return "\(bytes / 1_048_576) MiB" }
        if bytes > 0, bytes % 1_024 == 0 { return "\(bytes / 1_024) KiB" }
        return "\(bytes) bytes"
    }

    /// A message from the service as a sentence: a capital first letter and a full stop.
    static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        let capitalised = first.uppercased() + text.dropFirst()
        return capitalised.hasSuffix(".") || capitalised.hasSuffix("?") ? capitalised : capitalised + "."
    }
}
