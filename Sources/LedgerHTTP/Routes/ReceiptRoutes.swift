import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerService
import NIOCore

/// Receipts and credit notes, for staff and the website (which mails the mediator a link to its own page).
struct ReceiptRoutes {
    let receipts: ReceiptService
    let issuer: String
    let calendar: OrganisationCalendar

    struct DocumentView: Encodable {
        var number: String
        var kind: String
        var refersTo: String?
        var paymentId: String
        var profileId: String?
        var payerName: String?
        var amount: String
        var currency: String
        var method: String
        var purpose: String
        var paymentDate: String
        var periodFrom: String?
        var periodThrough: String?
        var reason: String?
        var issuedAt: Date

        init(_ document: ReceiptIssued) {
            number = document.printedNumber
            kind = document.kind.rawValue
            refersTo = document.refersTo
            paymentId = document.paymentID.rawValue
            profileId = document.profileID?.rawValue
            payerName = document.payerName
            amount = document.amount.decimalString
            currency = document.amount.currency
            method = document.method.rawValue
            purpose = document.purpose.rawValue
            paymentDate = document.paymentDate.description
            periodFrom = document.periodFrom?.description
            periodThrough = document.periodThrough?.description
            reason = document.reason
            issuedAt = document.occurredAt
        }
    }

    func register(on group: RouterGroup<LedgerRequestContext>) {
        // Asking for a payment's documents issues those due (its receipt, and credit notes for what stopped counting).
        group.get("payments/:paymentId/receipts") { request, context in
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            let documents = try await receipts.documents(for: paymentID, metadata: metadata(request, context))
            return try JSONResponse(documents.map(DocumentView.init))
        }
        group.get("receipts/:number") { request, context in
            let number = try context.parameters.require("number")
            guard let document = try await receipts.document(printedNumber: number) else {
                throw Problem.notFound("no receipt or credit note numbered '\(number.prefix(40))' (numbers look like 2026-000042)")
            }
            switch request.uri.queryParameters["format"].map(String.init) ?? "json" {
            case "json":
                return try JSONResponse(DocumentView(document))
            case "html":
                var headers = HTTPFields()
                headers[.contentType] = "text/html; charset=utf-8"
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html(document))))
            case let other:
                throw Problem.badRequest("format must be json or html, not '\(other.prefix(40))'")
            }
        }
    }

    /// A printable A4 page.
    func html(_ document: ReceiptIssued) -> String {
        let title = document.kind == .receipt ? "Receipt" : "Credit note"
        // "€125.00"; another currency by its code, never with the euro sign ("100.00 USD").
        let amount = ConsoleWords.money(document.amount)
        let method = switch document.method {
        case .card: "card"
        case .paypal: "PayPal"
        case .bank: "bank transfer"
        case .offline: "payment recorded by our office"
        }
        var what = document.purpose == .donation ? "Donation" : "Yearly listing contribution"
        if let from = document.periodFrom, let through = document.periodThrough {
            what += " for the listing from \(Self.words(from)) to \(Self.words(through))"
        }
        var rows = [
            ("Number", document.printedNumber), ("Issued", Self.words(calendar.date(at: document.occurredAt))),
            ("Received from", document.payerName ?? document.profileID?.rawValue ?? "—"), ("Amount", amount),
            ("Paid by", method), ("Paid on", Self.words(document.paymentDate)), ("For", what), ("Payment reference", document.paymentID.rawValue),
        ]
        if let refersTo = document.refersTo { rows.append(("Corrects receipt", refersTo)) }
        if let reason = document.reason { rows.append(("Reason", reason)) }
        let body = rows.map { "<tr><th scope=\"row\">\(Self.escape($0.0))</th><td>\(Self.escape($0.1))</td></tr>" }.joined(separator: "\n")
        let note = document.kind == .receipt
            ? "Thank you. This receipt confirms that we received the amount above."
            : "This credit note cancels the amount above of receipt \(Self.escape(document.refersTo ?? ""))."
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) \(Self.escape(document.printedNumber)) — \(Self.escape(issuer))</title>
            <style>
            @page { size: A4; margin: 20mm; }
            body { font-family: Georgia, "Times New Roman", serif; color: #1a1a1a; max-width: 170mm; margin: 0 auto; padding: 12mm 0; line-height: 1.5; }
            h1 { font-size: 1.6rem; margin: 0 0 0.25rem; }
            .issuer { color: #444; margin: 0 0 2rem; }
            table { border-collapse: collapse; width: 100%; }
            th, td { text-align: left; padding: 0.45rem 0.5rem; border-bottom: 1px solid #ccc; vertical-align: top; }
            th { width: 35%; font-weight: normal; color: #444; }
            .note { margin-top: 2rem; }
            </style>
            </head>
            <body>
            <h1>\(title) \(Self.escape(document.printedNumber))</h1>
            <p class="issuer">\(Self.escape(issuer))</p>
            <table>
            \(body)
            </table>
            <p class="note">\(note)</p>
            </body>
            </html>

            """
    }

    /// 14 January 2027.
    static func words(_ date: LocalDate) -> String {
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        return "\(date.day) \(months[max(0, min(11, date.month - 1))]) \(date.year)"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
