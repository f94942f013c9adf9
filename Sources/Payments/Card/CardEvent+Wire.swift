import LedgerCore

/// The event envelope as sent; every field optional so that a missing one gets a message naming it.
struct WireEnvelope: Decodable {
    struct DataField: Decodable {
        var object: ObjectPresence?
    }

    var id: String?
    var object: String?
    var type: String?
    var created: Int64?
    var livemode: Bool?
    var data: DataField?
}

/// `data.object` decoded as `Object`, once the type says what it is.
struct WireObjectEnvelope<Object: Decodable>: Decodable {
    struct DataField: Decodable {
        var object: Object
    }

    var data: DataField
}

struct WireCheckoutSession: Decodable {
    var id: String?
    var paymentIntent: String?
    var paymentStatus: String?
    var amountTotal: Int64?
    var currency: String?
    var clientReferenceID: String?
    var metadata: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id, currency, metadata
        case paymentIntent = "payment_intent"
        case paymentStatus = "payment_status"
        case amountTotal = "amount_total"
        case clientReferenceID = "client_reference_id"
    }
}

struct WirePaymentIntent: Decodable {
    var id: String?
    var amount: Int64?
    var amountReceived: Int64?
    var currency: String?
    var metadata: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id, amount, currency, metadata
        case amountReceived = "amount_received"
    }
}

struct WireCharge: Decodable {
    var id: String?
    var paymentIntent: String?
    var amount: Int64?
    var amountRefunded: Int64?
    var currency: String?
    var refunded: Bool?
    var metadata: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id, amount, currency, refunded, metadata
        case paymentIntent = "payment_intent"
        case amountRefunded = "amount_refunded"
    }
}

struct WireRefund: Decodable {
    var id: String?
    var paymentIntent: String?
    var charge: String?
    var amount: Int64?
    var currency: String?
    var status: String?
    var created: Int64?

    enum CodingKeys: String, CodingKey {
        case id, charge, amount, currency, status, created
        case paymentIntent = "payment_intent"
    }
}

struct WireDispute: Decodable {
    var id: String?
    var charge: String?
    var paymentIntent: String?
    var amount: Int64?
    var currency: String?
    var status: String?

    enum CodingKeys: String, CodingKey {
        case id, charge, amount, currency, status
        case paymentIntent = "payment_intent"
    }
}

/// Reads the fields of a known object type, naming the first one missing.
struct FieldReader {
    /// The provider's object name, e.g. `checkout.session`, for messages.
    var objectName: String

    func require<Value>(_ value: Value?, _ field: String) throws(PaymentsError) -> Value {
        guard let value else { throw malformed("the \(objectName) object has no \(field)") }
        return value
    }

    /// An object's id: 1 to ``CardEvent/objectIDLengthMax`` letters, digits or `_`.
    func identifier(_ value: String?, _ field: String) throws(PaymentsError) -> String {
        let id = try require(value, field)
        guard CardEvent.isIdentifier(id.utf8, lengthMax: CardEvent.objectIDLengthMax) else {
            throw malformed("the \(objectName) object's \(field) '\(id.prefix(40))' is not 1 to \(CardEvent.objectIDLengthMax) letters, digits or '_'")
        }
        return id
    }

    /// An id the object may leave out; when present, as ``identifier(_:_:)``.
    func optionalIdentifier(_ value: String?, _ field: String) throws(PaymentsError) -> String? {
        guard let value else { return nil }
        return try identifier(value, field)
    }

    /// An amount as the provider counts it (see ``CardAmounts``) with its currency, refusing negative amounts,
    /// currencies that are not three letters (the provider sends them lowercase; ``Money`` upper-cases them) and
    /// amounts the ledger cannot record.
    func money(_ minorUnits: Int64?, _ field: String, currency: String?) throws(PaymentsError) -> Money {
        let units = try require(minorUnits, field)
        let code = try require(currency, "currency")
        guard units >= 0 else { throw malformed("the \(objectName) object's \(field) is negative") }
        guard code.utf8.count == 3, code.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isAlphabetic }) else {
            throw malformed("the \(objectName) object's currency '\(code.prefix(10))' is not a three-letter code")
        }
        // Counted as the provider counts (krónur in hundredths, ariary in whole units), read as ISO 4217 counts.
        guard let money = CardAmounts.money(providerUnits: units, currency: code) else {
            if CardAmounts.countedInHundredths.contains(code.uppercased()), units % 100 != 0 {
                throw malformed("the \(objectName) object's \(field) \(units) is not whole \(code.uppercased()) (the provider counts it in hundredths)")
            }
            throw malformed("the \(objectName) object's \(field) is more than \(LedgerBounds.amountLimitDescription) (\(LedgerBounds.amountMinorUnitsMax) minor units), the most the ledger records")
        }
        return money
    }
}
