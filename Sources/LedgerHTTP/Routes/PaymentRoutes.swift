import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerService
import NIOCore

/// Checkout for the website, payments and the exception queue for staff, and the providers' webhooks.
struct PaymentRoutes {
    let books: BooksQueries
    let card: CardPayments
    let lists: StaffLists
    let payPal: PayPalPayments
    let paymentExceptions: PaymentExceptions
    let payments: PaymentPipeline
    let refunds: PaymentRefunds

    struct CheckoutBody: JSONRequestBody {

        static let fieldNames: Set<String> = ["method", "purpose", "amount", "currency", "successUrl", "cancelUrl"]
        var method: String
        var purpose: PaymentPurpose
        var amount: String?
        var currency: String?
        var successUrl: String
        var cancelUrl: String
    }

    struct CheckoutResponse: Encodable {
        var method: String
        var checkoutId: String
        var redirectUrl: String
        var profileId: String
        var purpose: String
        var amount: String
        var currency: String
    }

    func registerWebsiteRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.post("profiles/:profileId/checkout") { request, context in
            let body = try await decode(CheckoutBody.self, request, context)
            guard [PaymentMethod.card.rawValue, PaymentMethod.paypal.rawValue].contains(body.method) else {
                throw Problem(.unprocessableContent, "unsupported-method", title: "Unsupported payment method",
                              detail: "method must be 'card' or 'paypal'; '\(body.method.prefix(20))' is not offered at checkout")
            }
            let profileID = try ProfileID(try context.parameters.require("profileId"))
            // A currency is the tariff's, with an amount or without: a listing asked for in dollars is not charged in euros.
            if let currency = body.currency, currency != "EUR" { throw DomainError.currencyMismatch(currency, "EUR") }
            let amount = try body.amount.map { try Money(parsing: $0, currency: body.currency ?? "EUR") }
            let checkout = CheckoutRequest(
                profileID: profileID, purpose: body.purpose, donationAmount: amount, successURL: body.successUrl, cancelURL: body.cancelUrl
            )
            let provider: any PaymentProvider = body.method == PaymentMethod.card.rawValue ? card : payPal
            let started = try await provider.startCheckout(checkout, idempotencyKey: try idempotencyKey(request, context), metadata: metadata(request, context))
            return try JSONResponse(CheckoutResponse(
                method: started.method.rawValue, checkoutId: started.checkoutID, redirectUrl: started.redirectURL,
                profileId: started.profileID.rawValue, purpose: started.purpose.rawValue, amount: started.amount.decimalString,
                currency: started.amount.currency
            ), status: .created)
        }
        group.post("paypal/orders/:orderId/capture") { request, context in
            let orderID = try context.parameters.require("orderId")
            return try JSONResponse(try await payPal.capture(orderID: orderID, metadata: metadata(request, context)))
        }
    }

    func registerStaffRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.get("payments/:paymentId") { _, context in
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            guard let view = try await payments.view(paymentID) else { throw Problem.notFound("no payment '\(paymentID.rawValue.prefix(80))'") }
            return try JSONResponse(view)
        }
        group.post("payments/:paymentId/refund") { request, context in
            struct RefundRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["amount"]
                var amount: String?

                init() {}

                /// `"amount": null` is refused: left out, the amount is all that remains, and a client whose amount
                /// came out empty must not refund everything.
                init(from decoder: any Decoder) throws {
                    enum Keys: String, CodingKey { case amount }
                    let container = try decoder.container(keyedBy: Keys.self)
                    if container.contains(.amount), try container.decodeNil(forKey: .amount) {
                        throw Problem.badRequest("amount is null; give an amount, or leave the field out to refund all that remains")
                    }
                    amount = try container.decodeIfPresent(String.self, forKey: .amount)
                }
            }
            // No body: all that remains.
            let body = try await decode(RefundRequest.self, request, context, whenEmpty: RefundRequest())
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            let refund = try await refunds.refund(
                paymentID: paymentID, amount: body.amount, idempotencyKey: try idempotencyKey(request, context), metadata: metadata(request, context)
            )
            struct RefundResponse: Encodable {
                var paymentId: String
                var refundId: String
                var status: String
                var amount: String
                var currency: String
            }
            return try JSONResponse(RefundResponse(
                paymentId: refund.paymentID.rawValue, refundId: refund.refundID, status: refund.status,
                amount: refund.amount.decimalString, currency: refund.amount.currency
            ), status: .accepted)
        }
        group.post("payments/:paymentId/refund-requests/:requestKey/close") { request, context in
            struct CloseRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["reason"]
                var reason: String
            }
            let body = try await decode(CloseRequest.self, request, context)
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            try await refunds.close(
                paymentID: paymentID, requestKey: try pathParameter(context, "requestKey"), reason: body.reason, metadata: metadata(request, context)
            )
            guard let view = try await payments.view(paymentID) else { throw Problem.notFound("no payment '\(paymentID.rawValue.prefix(80))'") }
            return try JSONResponse(view)
        }
        group.get("payments") { request, _ in
            func parsed<Value>(_ field: String, _ parse: (String) -> Value?, _ expected: String) throws -> Value? {
                guard let text = request.uri.queryParameters[Substring(field)].map(String.init) else { return nil }
                guard let value = parse(text) else { throw Problem.badRequest("\(field) must be \(expected), not '\(text.prefix(40))'") }
                return value
            }
            let method = try parsed("method", { PaymentMethod(rawValue: $0) }, "card, paypal, bank or offline")
            let purpose = try parsed(
                "purpose", { PaymentListPurpose(rawValue: $0) }, PaymentListPurpose.allCases.map(\.rawValue).joined(separator: ", ")
            )
            let state = try parsed("state", { PaymentListState(rawValue: $0) }, PaymentListState.allCases.map(\.rawValue).joined(separator: ", "))
            let month = try queryMonth(request, "month")?.monthText
            let format = request.uri.queryParameters["format"].map(String.init) ?? "json"
            guard format == "json" || format == "csv" else { throw Problem.badRequest("format must be json or csv, not '\(format.prefix(40))'") }
            let (limit, offset) = try pageParameters(request, pageSizeMax: StaffLists.pageSizeMax)
            let rows = try await lists.payments(method: method, purpose: purpose, month: month, state: state, limit: limit, offset: offset)
            guard format == "csv" else { return try JSONResponse(rows) }
            var text = "payment,method,purpose,state,amount,currency,profile,date\r\n"
            for row in rows {
                text += [row.paymentId, row.method, row.purpose ?? "", row.state, row.amount ?? "", row.currency ?? "", row.profileId ?? "", row.effectiveDate ?? ""]
                    .map(BooksExport.csvCell).joined(separator: ",") + "\r\n"
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/csv; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        group.post("payments/:paymentId/void") { request, context in
            struct VoidRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["reason"]
                var reason: String
            }
            let body = try await decode(VoidRequest.self, request, context)
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            return try corrected(paymentID, try await payments.void(paymentID: paymentID, reason: body.reason, metadata: metadata(request, context)))
        }
        group.get("payments/:paymentId/pay-back-lines") { _, context in
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            guard let received = try await payments.loadPayment(paymentID).received else {
                throw Problem.notFound("no payment '\(paymentID.rawValue.prefix(80))'")
            }
            return try Self.lines(try await books.moneyOutToPayBack(received.amount, bookedFrom: received.effectiveDate, limit: PaymentPipeline.payBackLinesMax))
        }
        group.post("payments/:paymentId/paid-back") { request, context in
            let body = try await decode(LineRequest.self, request, context)
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            return try corrected(paymentID, try await payments.payBack(paymentID: paymentID, lineKey: body.lineKey, note: body.note ?? "", metadata: metadata(request, context)))
        }
        group.get("payments/:paymentId/pay-back-returned-lines") { _, context in
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            if let offer = try await payments.payBackReturnOffer(paymentID, books: books, limit: PaymentPipeline.payBackLinesMax) {
                return try Self.lines(offer.lines)
            }
            // Not paid back by a transfer now: no lines, unless there is no such payment at all.
            guard try await payments.loadPayment(paymentID).received != nil else { throw Problem.notFound("no payment '\(paymentID.rawValue.prefix(80))'") }
            return try Self.lines([])
        }
        group.post("payments/:paymentId/pay-back-returned") { request, context in
            let body = try await decode(LineRequest.self, request, context)
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            return try corrected(
                paymentID, try await payments.payBackReturned(paymentID: paymentID, lineKey: body.lineKey, note: body.note ?? "", metadata: metadata(request, context))
            )
        }
        group.post("payments/:paymentId/reassign") { request, context in
            struct ReassignRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["fromProfileId", "toProfileId", "amount", "reason"]
                var fromProfileId: String
                var toProfileId: String
                var amount: String?
                var reason: String
            }
            let body = try await decode(ReassignRequest.self, request, context)
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            return try corrected(paymentID, try await payments.reassign(
                paymentID: paymentID, from: try ProfileID(body.fromProfileId), to: try ProfileID(body.toProfileId),
                amount: try body.amount.map { try Money(parsing: $0, currency: "EUR") }, reason: body.reason, metadata: metadata(request, context)
            ))
        }
        group.post("reconciliation/exceptions/:paymentId/reopen") { request, context in
            struct ReopenRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["reason"]
                var reason: String
            }
            let body = try await decode(ReopenRequest.self, request, context)
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            return try corrected(paymentID, try await payments.reopen(paymentID: paymentID, reason: body.reason, metadata: metadata(request, context)))
        }
        group.get("reconciliation/exceptions") { request, _ in
            let includeResolved: Bool
            switch request.uri.queryParameters["includeResolved"].map(String.init) {
            case nil, "false": includeResolved = false
            case "true": includeResolved = true
            default: throw Problem.badRequest("includeResolved must be true or false")
            }
            let (limit, offset) = try pageParameters(request, pageSizeMax: PaymentExceptions.pageSizeMax)
            return try JSONResponse(try await paymentExceptions.list(includeResolved: includeResolved, limit: limit, offset: offset))
        }
    }

    /// A request naming a bank line: a transfer that paid a payment back, or that transfer come back.
    private struct LineRequest: JSONRequestBody {
        static let fieldNames: Set<String> = ["lineKey", "note"]
        var lineKey: String
        var note: String?
    }

    /// Bank lines to choose from, as `pay-back-lines` and `pay-back-returned-lines` answer.
    private static func lines(_ lines: [BooksQueries.UnusedBankLine]) throws -> Response {
        struct Line: Encodable {
            var lineKey: String
            var bookingDate: String
            var amount: String
            var currency: String
            var counterparty: String?
            var details: String
        }
        struct Lines: Encodable { var lines: [Line] }
        return try JSONResponse(Lines(lines: lines.map {
            Line(
                lineKey: $0.lineKey, bookingDate: $0.bookingDate.description, amount: $0.amount.decimalString, currency: $0.amount.currency,
                counterparty: $0.counterparty, details: $0.details
            )
        }))
    }

    /// What a correction appended: the payment's events and the allocation changes on profiles.
    private func corrected(_ paymentID: PaymentID, _ outcome: PaymentPipeline.Outcome) throws -> Response {
        struct Corrected: Encodable {
            var paymentId: String
            var appended: [String]
        }
        guard case .recorded(let paymentEvents, let profileEvents) = outcome else { throw Problem.internalError() }
        return try JSONResponse(Corrected(paymentId: paymentID.rawValue, appended: paymentEvents.map(\.typeName) + profileEvents.map(\.typeName)))
    }

    /// Provider webhooks authenticate by signature only, so they sit outside the API-key groups.
    func registerWebhookRoutes(on router: some RouterMethods<LedgerRequestContext>) {
        router.post("webhooks/card") { request, context in
            let buffer = try await request.body.collect(upTo: context.bodyBytesMax)
            let headers = request.headers
            let receipt = try await payments.receiveWebhook(
                from: card, body: Data(buffer.readableBytesView), header: { name in HTTPField.Name(name).flatMap { headers[$0] } },
                requestID: context.requestID
            )
            return try JSONResponse(WebhookAcknowledgement(receipt))
        }
        router.post("webhooks/paypal") { request, context in
            let buffer = try await request.body.collect(upTo: context.bodyBytesMax)
            let headers = request.headers
            let receipt = try await payments.receiveWebhook(
                from: payPal, body: Data(buffer.readableBytesView), header: { name in HTTPField.Name(name).flatMap { headers[$0] } },
                requestID: context.requestID
            )
            return try JSONResponse(WebhookAcknowledgement(receipt))
        }
    }
}

/// What a provider's webhook is answered once its event is recorded (or found recorded before).
struct WebhookAcknowledgement: Encodable {
    var received = true
    var eventId: String
    var duplicate: Bool

    init(_ receipt: ProviderWebhookReceipt) {
        eventId = receipt.eventID
        duplicate = receipt.duplicate
    }
}

