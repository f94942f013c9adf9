/// Every stream of the log, by what it records. ``description`` is the text the store keys the stream by;
/// ``init(_:)`` is the one place such a text is read back.
public enum StreamName: Sendable, Hashable, CustomStringConvertible {
    /// `profile-<id>`: a profile's registration, certification, allocations, waivers and visibility.
    case profile(ProfileID)
    /// `payment-<method>-<external id>`: one payment's facts.
    case payment(PaymentID)
    /// `reference-<RF…>`: who holds a creditor reference (electronic form).
    case referenceClaim(String)
    /// `reference-claims-checked`: how far earlier registrations were checked for a claim.
    case referenceClaimsChecked
    /// `inbox-<provider>-<event id>`: one provider event as received.
    case inbox(provider: String, eventID: String)
    /// `checkout-<method>-<checkout id>`: a checkout started at a provider.
    case checkout(method: String, checkoutID: String)
    /// `paypal-capture-<order id>`: the capture call for a PayPal order.
    case payPalCapture(orderID: String)
    /// `policy`: the dated tariff and rules.
    case policy
    /// `bank-movement-<line key>`: a bank line that is not a payment.
    case bankMovement(lineKey: String)
    /// `paid-back-<line key>`: which payment a bank line of money going out paid back (one at most).
    case paidBackBy(lineKey: String)
    /// `pay-back-returned-<line key>`: which payment's transfer back a bank line of money coming in returned (one at
    /// most).
    case payBackReturnedBy(lineKey: String)
    /// `bank-statement-<statement key>`: a statement's balances.
    case bankStatement(statementKey: String)
    /// `bank-days-<year>-<account key>`: the format each booking day of the year was imported in, for one account.
    case bankDays(year: Int, accountKey: String)
    /// `bank-days-checked`: how far statements recorded before days were claimed have been checked.
    case bankDaysChecked
    /// `hand-reversals-checked`: how far reversals by hand recorded on profiles only have been checked.
    case handReversalsChecked
    /// `receipts-<year>`: the year's receipt numbers.
    case receiptYear(Int)
    /// `receipt-<payment id>`: a payment's receipt.
    case receipt(PaymentID)

    public var description: String {
        switch self {
        case .profile(let id): "profile-\(id.rawValue)"
        case .payment(let id): "payment-\(id.rawValue)"
        case .referenceClaim(let reference): "reference-\(reference)"
        case .referenceClaimsChecked: "reference-claims-checked"
        case .inbox(let provider, let eventID): "inbox-\(provider)-\(eventID)"
        case .checkout(let method, let checkoutID): "checkout-\(method)-\(checkoutID)"
        case .payPalCapture(let orderID): "paypal-capture-\(orderID)"
        case .policy: "policy"
        case .bankMovement(let key): "bank-movement-\(key)"
        case .paidBackBy(let key): "paid-back-\(key)"
        case .payBackReturnedBy(let key): "pay-back-returned-\(key)"
        case .bankStatement(let key): "bank-statement-\(key)"
        case .bankDays(let year, let accountKey): "bank-days-\(year)-\(accountKey)"
        case .bankDaysChecked: "bank-days-checked"
        case .handReversalsChecked: "hand-reversals-checked"
        case .receiptYear(let year): "receipts-\(year)"
        case .receipt(let id): "receipt-\(id.rawValue)"
        }
    }

    /// Reads a stream's text; nil for a text no stream of the ledger has (a stream written by a tool, or by a
    /// later version).
    public init?(_ text: String) {
        func rest(after prefix: String) -> String? {
            guard text.hasPrefix(prefix), text.utf8.count > prefix.utf8.count else { return nil }
            return String(text.dropFirst(prefix.count))
        }
        func split(_ rest: String) -> (String, String)? {
            guard let dash = rest.firstIndex(of: "-"), dash != rest.startIndex, rest.index(after: dash) != rest.endIndex else { return nil }
            return (String(rest[..<dash]), String(rest[rest.index(after: dash)...]))
        }
        if text == "policy" {
            self = .policy
        } else if text == "reference-claims-checked" {
            self = .referenceClaimsChecked
        } else if text == "bank-days-checked" {
            self = .bankDaysChecked
        } else if text == "hand-reversals-checked" {
            self = .handReversalsChecked
        } else if let id = rest(after: "profile-") {
            guard let profileID = try? ProfileID(id) else { return nil }
            self = .profile(profileID)
        } else if let id = rest(after: "payment-") {
            self = .payment(PaymentID(rawValue: id))
        } else if let reference = rest(after: "reference-") {
            self = .referenceClaim(reference)
        } else if let event = rest(after: "inbox-").flatMap(split) {
            self = .inbox(provider: event.0, eventID: event.1)
        } else if let checkout = rest(after: "checkout-").flatMap(split) {
            self = .checkout(method: checkout.0, checkoutID: checkout.1)
        } else if let orderID = rest(after: "paypal-capture-") {
            self = .payPalCapture(orderID: orderID)
        } else if let key = rest(after: "bank-movement-") {
            self = .bankMovement(lineKey: key)
        } else if let key = rest(after: "paid-back-") {
            self = .paidBackBy(lineKey: key)
        } else if let key = rest(after: "pay-back-returned-") {
            self = .payBackReturnedBy(lineKey: key)
        } else if let key = rest(after: "bank-statement-") {
            self = .bankStatement(statementKey: key)
        } else if let days = rest(after: "bank-days-").flatMap(split), let year = Int(days.0) {
            self = .bankDays(year: year, accountKey: days.1)
        } else if let year = rest(after: "receipts-").flatMap({ Int($0) }) {
            self = .receiptYear(year)
        } else if let id = rest(after: "receipt-") {
            self = .receipt(PaymentID(rawValue: id))
        } else {
            return nil
        }
    }

    /// The profile a `profile-…` stream belongs to.
    public var profileID: ProfileID? {
        if case .profile(let id) = self { id } else { nil }
    }

    /// The payment a `payment-…` stream records.
    public var paymentID: PaymentID? {
        if case .payment(let id) = self { id } else { nil }
    }

    /// Whether a stream's text names a payment's stream, without reading the rest of it (projections ask this
    /// of every event they are handed).
    public static func isPayment(_ text: String) -> Bool { text.hasPrefix("payment-") }

    /// Whether a stream's text names a profile's stream, without reading the rest of it.
    public static func isProfile(_ text: String) -> Bool { text.hasPrefix("profile-") }
}

extension PaymentID {
    /// The method of a `<method>-<external id>` payment id; nil for an id of another shape.
    public var method: PaymentMethod? {
        guard let dash = rawValue.firstIndex(of: "-") else { return nil }
        return PaymentMethod(rawValue: String(rawValue[..<dash]))
    }

    /// The provider's own id of the payment (what follows `<method>-`); nil for an id of another shape.
    public var externalID: String? {
        guard method != nil, let dash = rawValue.firstIndex(of: "-") else { return nil }
        return String(rawValue[rawValue.index(after: dash)...])
    }
}
