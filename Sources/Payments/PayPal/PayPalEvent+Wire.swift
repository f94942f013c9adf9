import Foundation
import LedgerCore

/// The event envelope as sent; every field optional so that a missing one gets a message naming it.
struct PayPalWireEnvelope: Decodable {
    var id: String?
    var eventType: String?
    var createTime: String?
    var resourceType: String?
    var resource: ObjectPresence?

    enum CodingKeys: String, CodingKey {
        case id, resource
        case eventType = "event_type"
        case createTime = "create_time"
        case resourceType = "resource_type"
    }
}

/// `resource` decoded as `Resource`, once the event type says what it is.
struct PayPalWireResourceEnvelope<Resource: Decodable>: Decodable {
    var resource: Resource
}

/// PayPal's money: a currency code and a decimal string, never a number.
struct PayPalWireAmount: Codable, Sendable {
    var currencyCode: String?
    var value: String?

    enum CodingKeys: String, CodingKey {
        case value
        case currencyCode = "currency_code"
    }
}

/// A HATEOAS link.
struct PayPalWireLink: Decodable, Sendable {
    var href: String?
    var rel: String?
    var method: String?
}

struct PayPalWireCapture: Decodable, Sendable {
    struct SupplementaryData: Decodable, Sendable {
        struct RelatedIDs: Decodable, Sendable {
            var orderID: String?

            enum CodingKeys: String, CodingKey {
                case orderID = "order_id"
            }
        }

        var relatedIDs: RelatedIDs?

        enum CodingKeys: String, CodingKey {
            case relatedIDs = "related_ids"
        }
    }

    /// What the seller receives: `paypal_fee` is PayPal's fee for the capture.
    struct SellerReceivableBreakdown: Decodable, Sendable {
        var paypalFee: PayPalWireAmount?

        enum CodingKeys: String, CodingKey {
            case paypalFee = "paypal_fee"
        }
    }

    var id: String?
    var status: String?
    var amount: PayPalWireAmount?
    var customID: String?
    var invoiceID: String?
    var supplementaryData: SupplementaryData?
    var sellerReceivableBreakdown: SellerReceivableBreakdown?
    var links: [PayPalWireLink]?

    enum CodingKeys: String, CodingKey {
        case id, status, amount, links
        case customID = "custom_id"
        case invoiceID = "invoice_id"
        case supplementaryData = "supplementary_data"
        case sellerReceivableBreakdown = "seller_receivable_breakdown"
    }
}

struct PayPalWireRefund: Decodable, Sendable {
    var id: String?
    var status: String?
    var amount: PayPalWireAmount?
    var customID: String?
    var createTime: String?
    var links: [PayPalWireLink]?

    enum CodingKeys: String, CodingKey {
        case id, status, amount, links
        case customID = "custom_id"
        case createTime = "create_time"
    }
}

struct PayPalWireDispute: Decodable, Sendable {
    struct Transaction: Decodable, Sendable {
        var sellerTransactionID: String?

        enum CodingKeys: String, CodingKey {
            case sellerTransactionID = "seller_transaction_id"
        }
    }

    struct Outcome: Decodable, Sendable {
        var outcomeCode: String?

        enum CodingKeys: String, CodingKey {
            case outcomeCode = "outcome_code"
        }
    }

    var disputeID: String?
    var status: String?
    var disputeAmount: PayPalWireAmount?
    var disputedTransactions: [Transaction]?
    var disputeOutcome: Outcome?
    var createTime: String?
    var updateTime: String?

    enum CodingKeys: String, CodingKey {
        case status
        case createTime = "create_time"
        case updateTime = "update_time"
        case disputeID = "dispute_id"
        case disputeAmount = "dispute_amount"
        case disputedTransactions = "disputed_transactions"
        case disputeOutcome = "dispute_outcome"
    }
}

struct PayPalWireOrder: Decodable, Sendable {
    struct PurchaseUnit: Decodable, Sendable {
        struct Payments: Decodable, Sendable {
            var captures: [PayPalWireCapture]?
        }

        var customID: String?
        var amount: PayPalWireAmount?
        var payments: Payments?

        enum CodingKeys: String, CodingKey {
            case amount, payments
            case customID = "custom_id"
        }
    }

    var id: String?
    var status: String?
    var purchaseUnits: [PurchaseUnit]?
    var links: [PayPalWireLink]?

    enum CodingKeys: String, CodingKey {
        case id, status, links
        case purchaseUnits = "purchase_units"
    }
}

/// Reads the fields of a known resource type, naming the first one missing.
struct PayPalFieldReader {
    /// The resource's name, e.g. `capture`, for messages.
    var resourceName: String

    func require<Value>(_ value: Value?, _ field: String) throws(PaymentsError) -> Value {
        guard let value else { throw paypalMalformed("the \(resourceName) resource has no \(field)") }
        return value
    }

    /// An amount read exactly from PayPal's decimal string: digits, optionally `.` and at most as many decimals as
    /// the currency has (two for the euro, none for yen; ``Money/decimals(of:)``).
    ///
    /// A comma, a sign or a decimal too many is refused rather than guessed at, because PayPal never sends them
    /// for the currencies we accept and a misread amount would silently misprice a payment.
    func money(_ amount: PayPalWireAmount?, _ field: String) throws(PaymentsError) -> Money {
        let amount = try require(amount, field)
        let code = try require(amount.currencyCode, "\(field).currency_code")
        let value = try require(amount.value, "\(field).value")
        guard code.utf8.count == 3, code.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw paypalMalformed("the \(resourceName) resource's \(field).currency_code '\(code.prefix(10))' is not a three-letter code")
        }
        guard !value.contains(","), !value.contains(" ") else {
            throw paypalMalformed("the \(resourceName) resource's \(field).value '\(value.prefix(30))' is not a decimal like 125.00")
        }
        let money: Money
        do {
            money = try Money(parsing: value, currency: code)
        } catch {
            throw paypalMalformed("the \(resourceName) resource's \(field).value '\(value.prefix(30))' is not an amount: \(error)")
        }
        guard LedgerBounds.acceptsAmount(money.minorUnits) else {
            throw paypalMalformed("the \(resourceName) resource's \(field).value \(money.decimalString) is more than \(LedgerBounds.amountLimitDescription), the most the ledger records")
        }
        return money
    }
}
