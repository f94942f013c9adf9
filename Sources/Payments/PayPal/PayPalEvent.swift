public import Foundation

/// One PayPal webhook event, verified elsewhere and read here into a typed ``PayPalFact``.
public struct PayPalEvent: Sendable, Hashable {
    /// The event id, `WH-…`; a redelivery reuses it, so it is the de-duplication key.
    public var id: String
    /// PayPal's event type, e.g. `PAYMENT.CAPTURE.COMPLETED`.
    public var eventType: String
    /// When PayPal created the event. Deliveries come in no guaranteed order.
    public var createTime: Date
    /// What the event tells us.
    public var fact: PayPalFact

    /// Creates an event from its parts.
    public init(id: String, eventType: String, createTime: Date, fact: PayPalFact) {
        self.id = id
        self.eventType = eventType
        self.createTime = createTime
        self.fact = fact
    }

    /// The longest id accepted after the `WH-` prefix; real ids are about 40 characters, this bounds storage.
    public static let idSuffixLengthMax = 120

    /// Reads a raw event body. Unknown fields are ignored and unknown types become ``PayPalFact/other``.
    ///
    /// Throws ``PaymentsError/Code/malformedEvent`` when the body is not an event object, the id is not
    /// `WH-` followed by 1 to 120 letters, digits or `-`, `event_type`, `create_time` or `resource` is missing, or
    /// a known type's resource lacks a field we need (the message names it). Amounts are read exactly from
    /// PayPal's decimal strings; a value with more than two decimals is refused rather than rounded.
    public static func parse(_ body: Data) throws(PaymentsError) -> PayPalEvent {
        let envelope = try WireJSON.decode(PayPalWireEnvelope.self, from: body, failure: paypalMalformed)
        guard let id = envelope.id else { throw paypalMalformed("the event has no id") }
        guard isValidID(id) else {
            throw paypalMalformed("the event id '\(id.prefix(80))' is not WH- followed by 1 to \(idSuffixLengthMax) letters, digits or '-'")
        }
        guard let eventType = envelope.eventType, !eventType.isEmpty else { throw paypalMalformed("event \(id) has no event_type") }
        guard let createText = envelope.createTime else { throw paypalMalformed("event \(id) has no create_time") }
        guard let createTime = PayPalTime.parse(createText) else {
            throw paypalMalformed("event \(id) has create_time '\(createText.prefix(40))', which is not an RFC 3339 time")
        }
        guard envelope.resource != nil else { throw paypalMalformed("event \(id) has no resource") }
        let fact = try PayPalFact(eventType: eventType, body: body)
        return PayPalEvent(id: id, eventType: eventType, createTime: createTime, fact: fact)
    }

    static func isValidID(_ id: String) -> Bool {
        guard id.hasPrefix("WH-") else { return false }
        let suffix = id.utf8.dropFirst(3)
        return (1...idSuffixLengthMax).contains(suffix.count)
            && suffix.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
    }
}

func paypalMalformed(_ message: String) -> PaymentsError {
    PaymentsError(.malformedEvent, message)
}
