import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerService
import NIOCore

/// The books for staff and the accountant: the chart of accounts, a trial balance per day, and the journal
/// for a range of days as Beancount or CSV, streamed.
struct BooksRoutes {
    let books: BooksQueries
    let calendar: OrganisationCalendar
    let now: @Sendable () -> Date

    func register(on group: RouterGroup<LedgerRequestContext>) {
        group.get("books/accounts") { _, _ in
            struct Account: Encodable {
                var account: String
                var meaning: String
            }
            return try JSONResponse(BookAccount.allCases.map { Account(account: $0.rawValue, meaning: $0.meaning) })
        }
        group.get("books/trial-balance") { request, _ in
            let date = try day(request, "date") ?? calendar.date(at: now())
            return try JSONResponse(try await books.trialBalance(on: date))
        }
        group.get("reports/income") { request, _ in
            let formatText = request.uri.queryParameters["format"].map(String.init) ?? "json"
            guard formatText == "json" || formatText == "csv" else { throw Problem.badRequest("format must be json or csv, not '\(formatText.prefix(40))'") }
            let (from, to) = try await range(request)
            let rows = try await books.income(from: from, through: to)
            guard formatText == "csv" else { return try JSONResponse(rows) }
            var text = "month,method,currency,contributions,donations,other,refunds,chargebacks,returns,net\r\n"
            for row in rows {
                text += [row.month, row.method, row.currency, row.contributions, row.donations, row.other, row.refunds, row.chargebacks, row.returns, row.net]
                    .joined(separator: ",") + "\r\n"
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/csv; charset=utf-8"
            headers[.contentDisposition] = "attachment; filename=\"income-\(from)-\(to).csv\""
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        group.get("books/journal") { request, _ in
            // Beancount unless asked otherwise, as the console's download and `listing-ledger export journal`.
            let formatText = request.uri.queryParameters["format"].map(String.init) ?? "beancount"
            guard let format = BooksExport.Format(rawValue: formatText) else {
                throw Problem.badRequest("format must be csv or beancount, not '\(formatText.prefix(40))'")
            }
            let (from, to) = try await range(request)
            return Self.journal(books, format, from: from, to: to)
        }
    }

    /// The journal as a file to download, streamed (the API's `/books/journal` and the console's Books page).
    static func journal(_ books: BooksQueries, _ format: BooksExport.Format, from: LocalDate, to: LocalDate) -> Response {
        let export = BooksExport(books: books)
        var headers = HTTPFields()
        headers[.contentType] = format.mediaType
        headers[.contentDisposition] = "attachment; filename=\"books-\(from)-\(to).\(format == .csv ? "csv" : "beancount")\""
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await export.write(format, from: from, through: to) { text in
                try await writer.write(ByteBuffer(string: text))
            }
            try await writer.finish(nil)
        })
    }

    /// `from` and `to` from the query, after taking in the log: `to` defaults to today, `from` to the first day
    /// with an entry.
    private func range(_ request: Request) async throws -> (LocalDate, LocalDate) {
        try await books.range(from: try day(request, "from"), through: try day(request, "to"), today: calendar.date(at: now()))
    }

    /// A day from the query (`2026-01-31`), within the ledger's bounds; nil when absent.
    private func day(_ request: Request, _ field: String) throws -> LocalDate? {
        guard let text = request.uri.queryParameters[Substring(field)].map(String.init) else { return nil }
        if text.utf8.count == 10, LedgerBounds.namesAMissingDay(text) {
            throw Problem(.unprocessableContent, "invalid-date", title: "Unprocessable Content", detail: "\(field) '\(text)' names a day that does not exist")
        }
        guard text.utf8.count == 10, let date = LocalDate(iso: text), LedgerBounds.contains(date) else {
            throw Problem.badRequest("\(field) '\(text.prefix(40))' is not a date like 2026-01-31 \(LedgerBounds.dateRangeDescription)")
        }
        return date
    }
}
