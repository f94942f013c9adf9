import Foundation
import LedgerCore
import Synchronization

extension PayPalStandIn {
    /// `POST /v2/checkout/orders`: validates what our client sends and answers an order awaiting the buyer.
    func createOrder(_ json: [String: Any], requestID: String?) -> APIAnswer {
        guard json["intent"] as? String == "CAPTURE" else {
            return .invalid("INVALID_PARAMETER_VALUE", "intent must be CAPTURE here.")
        }
        guard let units = json["purchase_units"] as? [[String: Any]], let unit = units.first else {
            return .invalid("MISSING_REQUIRED_PARAMETER", "purchase_units is required.")
        }
        guard let amountObject = unit["amount"] as? [String: Any] else {
            return .invalid("MISSING_REQUIRED_PARAMETER", "purchase_units[0].amount is required.")
        }
        guard let amount = Self.money(amountObject) else {
            return .invalid("INVALID_PARAMETER_VALUE", "purchase_units[0].amount needs a three-letter currency_code and a decimal value string.")
        }
        guard amount.minorUnits > 0 else {
            return .unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.")
        }
        if Self.hasRefusedDecimals(amountObject) { return .unprocessable("DECIMALS_NOT_SUPPORTED", "Currency does not support decimals.") }
        let customID = unit["custom_id"] as? String
        if let customID, customID.count > 127 {
            return .invalid("INVALID_STRING_LENGTH", "custom_id is longer than 127 characters.")
        }
        let experience = ((json["payment_source"] as? [String: Any])?["paypal"] as? [String: Any])?["experience_context"] as? [String: Any]
        let context = experience ?? json["application_context"] as? [String: Any]
        let order = state.withLock { state in
            let order = OrderRecord(
                id: state.nextID(),
                amount: amount,
                customID: customID,
                invoiceID: unit["invoice_id"] as? String,
                returnURL: context?["return_url"] as? String,
                cancelURL: context?["cancel_url"] as? String,
                requestID: requestID,
                createTime: now()
            )
            state.orders[order.id] = order
            state.orderSequence.append(order.id)
            return order
        }
        // Orders made with a payment source ask for "payer action"; older ones with application_context say "approve".
        let approvalRel = experience == nil ? "approve" : "payer-action"
        return .created(orderObject(order, status: experience == nil ? "CREATED" : "PAYER_ACTION_REQUIRED", approvalRel: approvalRel, capture: nil))
    }

    /// `POST /v2/checkout/orders/{id}/capture`: only an approved order, and only once.
    func captureOrder(_ orderID: String) -> APIAnswer {
        let outcome: Result<(OrderRecord, CaptureRecord), APIAnswerBox> = state.withLock { state in
            guard let order = state.orders[orderID] else {
                return .failure(APIAnswerBox(.notFound("Specified resource ID does not exist. Please check the resource ID and try again.")))
            }
            if order.captureID != nil {
                return .failure(APIAnswerBox(.unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.")))
            }
            if order.instrumentDeclined {
                return .failure(APIAnswerBox(.unprocessable("INSTRUMENT_DECLINED", "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.")))
            }
            guard order.approved else {
                return .failure(APIAnswerBox(.unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.")))
            }
            let capture = CaptureRecord(
                id: state.nextID(),
                orderID: orderID,
                amount: order.amount,
                customID: order.customID,
                invoiceID: order.invoiceID,
                status: state.captureStatus,
                createTime: now()
            )
            state.captures[capture.id] = capture
            state.orders[orderID]?.captureID = capture.id
            return .success((order, capture))
        }
        switch outcome {
        case .success(let (order, capture)):
            return .created(orderObject(order, status: "COMPLETED", approvalRel: nil, capture: capture))
        case .failure(let box):
            return box.answer
        }
    }

    /// `POST /v2/payments/captures/{id}/refund`: `amount`, or what remains.
    func refundCapture(_ captureID: String, _ json: [String: Any]) -> APIAnswer {
        var requested: LedgerCore.Money?
        if let amountObject = json["amount"] as? [String: Any] {
            guard let amount = Self.money(amountObject), amount.minorUnits > 0 else {
                return .invalid("INVALID_PARAMETER_VALUE", "amount needs a three-letter currency_code and a positive decimal value string.")
            }
            if Self.hasRefusedDecimals(amountObject) { return .unprocessable("DECIMALS_NOT_SUPPORTED", "Currency does not support decimals.") }
            requested = amount
        }
        let outcome: Result<RefundRecord, APIAnswerBox> = state.withLock { state in
            guard let capture = state.captures[captureID] else {
                return .failure(APIAnswerBox(.notFound("Specified resource ID does not exist. Please check the resource ID and try again.")))
            }
            let remaining = capture.amount.minorUnits - capture.refundedMinorUnits(in: state.refunds)
            guard remaining > 0 else {
                return .failure(APIAnswerBox(.unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")))
            }
            if let requested, requested.currency != capture.amount.currency {
                return .failure(APIAnswerBox(.unprocessable("REFUND_CURRENCY_MISMATCH", "Refund must be in the same currency as the capture.")))
            }
            let units = requested?.minorUnits ?? remaining
            guard units <= remaining else {
                return .failure(APIAnswerBox(.unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the capture amount that has not yet been refunded.")))
            }
            let refund = state.addRefund(of: units, to: capture, createTime: now())
            state.apiRefunds.append(refund.id)
            return .success(refund)
        }
        switch outcome {
        case .success(let refund):
            let capture = state.withLock { $0.captures[captureID]! }
            return .created(refundObject(refund, of: capture))
        case .failure(let box):
            return box.answer
        }
    }

    /// `GET /v2/payments/captures/{id}`: the capture as it stands now.
    func readCapture(_ captureID: String) -> APIAnswer {
        let capture = state.withLock { state in
            state.resourceReadCount += 1
            return state.captures[captureID]
        }
        guard let capture else { return .notFound("Specified resource ID does not exist. Please check the resource ID and try again.") }
        return .ok(captureObject(capture))
    }

    /// `GET /v2/payments/refunds/{id}`.
    func readRefund(_ refundID: String) -> APIAnswer {
        let pair = state.withLock { state -> (RefundRecord, CaptureRecord)? in
            state.resourceReadCount += 1
            guard let refund = state.refunds[refundID], let capture = state.captures[refund.captureID] else { return nil }
            return (refund, capture)
        }
        guard let (refund, capture) = pair else { return .notFound("Specified resource ID does not exist. Please check the resource ID and try again.") }
        return .ok(refundObject(refund, of: capture))
    }

    /// `GET /v1/customer/disputes/{id}`: the dispute as its latest event left it.
    func readDispute(_ disputeID: String) -> APIAnswer {
        let pair = state.withLock { state -> (DisputeRecord, CaptureRecord)? in
            state.resourceReadCount += 1
            guard let dispute = state.disputes[disputeID], let capture = state.captures[dispute.captureID] else { return nil }
            return (dispute, capture)
        }
        guard let (dispute, capture) = pair else { return .notFound("The requested resource ID was not found") }
        return .ok(disputeObject(dispute, of: capture))
    }

    /// An order as PayPal prints it; with `capture`, as the capture call answers.
    func orderObject(_ order: OrderRecord, status: String, approvalRel: String?, capture: CaptureRecord?) -> [String: any Sendable] {
        var unit: [String: any Sendable] = [
            "reference_id": "default",
            "amount": Self.amount(order.amount),
            "payee": ["email_address": "payments@listing-ledger.example", "merchant_id": "7KNGBPH2U58GQ"] as [String: any Sendable],
            "custom_id": order.customID,
            "invoice_id": order.invoiceID,
        ]
        if let capture {
            unit["payments"] = ["captures": [captureObject(capture)]] as [String: any Sendable]
        }
        var links: [any Sendable] = [Self.link("\(baseURL)/v2/checkout/orders/\(order.id)", "self", "GET")]
        if let approvalRel {
            links.append(Self.link("\(baseURL)/checkoutnow?token=\(order.id)", approvalRel, "GET"))
        }
        var object: [String: any Sendable] = [
            "id": order.id,
            "intent": "CAPTURE",
            "status": status,
            "purchase_units": [unit],
            "create_time": Self.timestamp(order.createTime),
            "links": links,
        ]
        if capture != nil || order.approved {
            object["payer"] = Self.payer
            object["payment_source"] = ["paypal": ["email_address": "jana.beispiel@example.com", "account_id": "QYR5Z8XDVJNXQ", "account_status": "VERIFIED"] as [String: any Sendable]] as [String: any Sendable]
        }
        return object
    }

    /// A capture as PayPal prints it, in capture answers and webhook resources.
    func captureObject(_ capture: CaptureRecord, status: String? = nil) -> [String: any Sendable] {
        let fee = Money(minorUnits: capture.amount.minorUnits * 349 / 10_000 + 35, currency: capture.amount.currency)
        let net = Money(minorUnits: capture.amount.minorUnits - fee.minorUnits, currency: capture.amount.currency)
        return [
            "id": capture.id,
            "status": status ?? capture.status,
            "amount": Self.amount(capture.amount),
            "final_capture": true,
            "seller_protection": ["status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]] as [String: any Sendable],
            "seller_receivable_breakdown": [
                "gross_amount": Self.amount(capture.amount),
                "paypal_fee": Self.amount(fee),
                "net_amount": Self.amount(net),
            ] as [String: any Sendable],
            "custom_id": capture.customID,
            "invoice_id": capture.invoiceID,
            "supplementary_data": ["related_ids": ["order_id": capture.orderID] as [String: any Sendable]] as [String: any Sendable],
            "create_time": Self.timestamp(capture.createTime),
            "update_time": Self.timestamp(capture.createTime),
            "links": [
                Self.link("\(baseURL)/v2/payments/captures/\(capture.id)", "self", "GET"),
                Self.link("\(baseURL)/v2/payments/captures/\(capture.id)/refund", "refund", "POST"),
                Self.link("\(baseURL)/v2/checkout/orders/\(capture.orderID)", "up", "GET"),
            ] as [any Sendable],
        ]
    }

    /// A refund as PayPal prints it: its `up` link is the only place that names the capture.
    func refundObject(_ refund: RefundRecord, of capture: CaptureRecord) -> [String: any Sendable] {
        [
            "id": refund.id,
            "status": "COMPLETED",
            "amount": Self.amount(refund.amount),
            "seller_payable_breakdown": [
                "gross_amount": Self.amount(refund.amount),
                "paypal_fee": Self.amount(Money(minorUnits: 0, currency: refund.amount.currency)),
                "net_amount": Self.amount(refund.amount),
            ] as [String: any Sendable],
            "custom_id": capture.customID,
            "invoice_id": capture.invoiceID,
            "create_time": Self.timestamp(refund.createTime),
            "update_time": Self.timestamp(refund.createTime),
            "links": [
                Self.link("\(baseURL)/v2/payments/refunds/\(refund.id)", "self", "GET"),
                Self.link("\(baseURL)/v2/payments/captures/\(capture.id)", "up", "GET"),
            ] as [any Sendable],
        ]
    }

    static let payer: [String: any Sendable] = [
        "name": ["given_name": "Jana", "surname": "Beispiel"] as [String: any Sendable],
        "email_address": "jana.beispiel@example.com",
        "payer_id": "QYR5Z8XDVJNXQ",
        "address": ["country_code": "DE"] as [String: any Sendable],
    ]

    /// Currencies PayPal takes and writes without decimals (its currency codes page: "This currency does not
    /// support decimals").
    static let wholeUnitCurrencies: Set<String> = ["HUF", "JPY", "TWD"]

    static func amount(_ money: Money) -> [String: any Sendable] {
        // (Yen has no decimals in ISO 4217 either: its `decimalString` is whole already; forint and Taiwan dollars
        // have two there.)
        let value = wholeUnitCurrencies.contains(money.currency) && Money.decimals(of: money.currency) == 2
            ? String(money.minorUnits / 100) : money.decimalString
        return ["currency_code": money.currency, "value": value]
    }

    /// A value with decimals in a currency PayPal takes in whole units only.
    static func hasRefusedDecimals(_ object: [String: Any]) -> Bool {
        guard let currency = object["currency_code"] as? String, let value = object["value"] as? String else { return false }
        return wholeUnitCurrencies.contains(currency) && value.contains(".")
    }

    static func link(_ href: String, _ rel: String, _ method: String) -> [String: any Sendable] {
        ["href": href, "rel": rel, "method": method]
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    /// `{currency_code, value}` read exactly, as PayPal does: a string value with at most two decimals.
    static func money(_ object: [String: Any]) -> Money? {
        guard let currency = object["currency_code"] as? String, currency.count == 3, currency == currency.uppercased(),
            let value = object["value"] as? String, !value.contains(",")
        else { return nil }
        return try? Money(parsing: value, currency: currency)
    }
}

/// Carries a refusal out of a locked region as a `Result` failure.
struct APIAnswerBox: Error {
    var answer: PayPalStandIn.APIAnswer

    init(_ answer: PayPalStandIn.APIAnswer) {
        self.answer = answer
    }
}
