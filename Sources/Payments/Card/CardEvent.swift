public import Foundation

/// One card provider event, verified elsewhere and read here into a typed ``CardFact``.
public struct CardEvent: Sendable, Hashable {
    /// The event id, `evt_…`; a resend reuses it, so it is the de-duplication key.
    public var id: String
    /// The provider's event type, e.g. `checkout.session.completed`.
    public var type: String
    /// When the provider created the event (whole seconds). Deliveries come in no guaranteed order.
    public var created: Date
    /// Whether the event comes from live mode rather than test mode.
    public var livemode: Bool
    /// What the event tells us.
    public var fact: CardFact

    /// Creates an event from its parts.
    public init(id: String, type: String, created: Date, livemode: Bool, fact: CardFact) {
        self.id = id
        self.type = type
        self.created = created
        self.livemode = livemode
        self.fact = fact
    }

    /// The longest id accepted after the `evt_` prefix; real ids are far shorter, this only bounds storage, so
    /// that the event's inbox stream (`inbox-card-evt_…`) fits the event store's 256-byte stream names.
    public static let idSuffixLengthMax = 200

    /// The longest id of an object an event names (a checkout session, payment intent, charge, refund or
    /// dispute), so that the streams named after them (`payment-card-pi_…`, `checkout-card-cs_…`) fit too.
    public static let objectIDLengthMax = 200

    /// Reads a raw event body. Unknown fields are ignored and unknown types become ``CardFact/other``.
    ///
    /// Throws ``PaymentsError/Code/malformedEvent`` when the body is not an event object, the id is not
    /// `evt_` followed by 1 to 200 letters, digits or `_`, `type`, `created` or `data.object` is missing, or a
    /// known type's object lacks a field we need (the message names it).
    public static func parse(_ body: Data) throws(PaymentsError) -> CardEvent {
        let envelope = try WireJSON.decode(WireEnvelope.self, from: body, failure: malformed)
        if let object = envelope.object, object != "event" {
            throw malformed("the body is a '\(object.prefix(40))' object, not an event")
        }
        guard let id = envelope.id else { throw malformed("the event has no id") }
        guard isValidID(id) else {
            throw malformed("the event id '\(id.prefix(80))' is not evt_ followed by 1 to \(idSuffixLengthMax) letters, digits or '_'")
        }
        guard let type = envelope.type, !type.isEmpty else { throw malformed("event \(id) has no type") }
        guard let created = envelope.created else { throw malformed("event \(id) has no created time") }
        guard envelope.data?.object != nil else { throw malformed("event \(id) has no data.object") }
        let fact = try CardFact(type: type, body: body)
        return CardEvent(
            id: id,
            type: type,
            created: Date(timeIntervalSince1970: TimeInterval(created)),
            livemode: envelope.livemode ?? false,
            fact: fact
        )
    }

    static func isValidID(_ id: String) -> Bool {
        guard id.hasPrefix("evt_") else { return false }
        return isIdentifier(id.utf8.dropFirst(4), lengthMax: idSuffixLengthMax)
    }

    /// 1 to `lengthMax` ASCII letters, digits or `_`.
    static func isIdentifier(_ bytes: some Collection<UInt8>, lengthMax: Int) -> Bool {
        (1...lengthMax).contains(bytes.count)
            && bytes.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                    true
                default:
                    false
                }
            }
    }
}

func malformed(_ message: String) -> PaymentsError {
    PaymentsError(.malformedEvent, message)
}
