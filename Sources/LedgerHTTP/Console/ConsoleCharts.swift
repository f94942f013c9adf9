import Foundation
import LedgerCore
import LedgerService

/// Charts drawn on the server as SVG. Colour is never the only carrier: each series also has its own
/// pattern, the legend names it, every bar has a title (read by screen readers and shown on hover), and a
/// table with the same figures follows each chart.
enum ConsoleCharts {
    struct Series {
        var key: String
        var label: String
        var fill: String
    }

    /// Income by month, stacked by method, with a table split by method and purpose.
    static func income(_ rows: [BooksQueries.IncomeRow], months: [String]) -> String {
        let series = [
            Series(key: "card", label: "Card", fill: "url(#p-card)"), Series(key: "paypal", label: "PayPal", fill: "url(#p-paypal)"),
            Series(key: "bank", label: "Bank transfer", fill: "url(#p-bank)"), Series(key: "offline", label: "Offline", fill: "url(#p-offline)"),
        ]
        func minor(_ text: String) -> Int64 {
            let negative = text.hasPrefix("-")
            let value = (try? Money(parsing: negative ? String(text.dropFirst()) : text, currency: "EUR"))?.minorUnits ?? 0
            return negative ? -value : value
        }
        var net: [String: [String: Int64]] = [:]
        var table: [(month: String, method: String, contributions: Int64, donations: Int64, other: Int64, net: Int64)] = []
        for row in rows where row.currency == "EUR" {
            // Saturating: a ledger written before amounts were bounded where they enter may hold sums past
            // Int64, and the chart must still draw.
            net[row.month, default: [:]][row.method, default: 0] = (net[row.month]?[row.method] ?? 0).addingSaturated(max(0, row.netMinorUnits))
            table.append((row.month, row.method, minor(row.contributions), minor(row.donations), minor(row.other), row.netMinorUnits))
        }
        let totals = months.map { month in series.reduce(Int64(0)) { $0.addingSaturated(net[month]?[$1.key] ?? 0) } }
        let top = max(totals.max() ?? 0, 100)
        let width = 640, height = 240, left = 64, bottom = 28, barGap = 8
        let plotHeight = height - bottom - 12
        let barWidth = (width - left - 8) / max(months.count, 1) - barGap
        var svg = """
            <figure class="chart"><svg viewBox="0 0 \(width) \(height + 40)" role="img" aria-labelledby="income-title" xmlns="http://www.w3.org/2000/svg">
            <title id="income-title">Net income per month for the last \(months.count) months, stacked by payment method</title>
            <defs>
            <pattern id="p-card" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#1f4e79"/></pattern>
            <pattern id="p-paypal" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#9dc3e6"/><path d="M0 6 L6 0" stroke="#1f4e79" stroke-width="1.2"/></pattern>
            <pattern id="p-bank" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#f4b183"/><circle cx="3" cy="3" r="1.2" fill="#843c0c"/></pattern>
            <pattern id="p-offline" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#e7e6e6"/><path d="M0 3 H6" stroke="#3a3838" stroke-width="1.2"/></pattern>
            </defs>

            """
        for step in 0...4 {
            let value = step == 4 ? top : top / 4 * Int64(step)
            let y = 12 + plotHeight - Int(Double(plotHeight) * Double(value) / Double(top))
            svg += "<line x1=\"\(left)\" x2=\"\(width)\" y1=\"\(y)\" y2=\"\(y)\" class=\"grid\"/><text x=\"\(left - 6)\" y=\"\(y + 4)\" class=\"axis\" text-anchor=\"end\">\(ConsoleWords.euros(minorUnits: value).replacingOccurrences(of: ".00", with: ""))</text>\n"
        }
        for (index, month) in months.enumerated() {
            let x = left + index * (barWidth + barGap) + barGap / 2
            var y = 12 + plotHeight
            for item in series {
                let value = net[month]?[item.key] ?? 0
                guard value > 0 else { continue }
                let h = max(1, Int(Double(plotHeight) * Double(value) / Double(top)))
                y -= h
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(barWidth)\" height=\"\(h)\" fill=\"\(item.fill)\" stroke=\"#222\" stroke-width=\"0.5\"><title>\(ConsoleWords.month(month)), \(item.label): \(ConsoleWords.euros(minorUnits: value))</title></rect>\n"
            }
            let short = String(ConsoleWords.month(month).prefix(3))
            svg += "<text x=\"\(x + barWidth / 2)\" y=\"\(height - 10)\" class=\"axis\" text-anchor=\"middle\">\(short)</text>\n"
        }
        for (index, item) in series.enumerated() {
            let x = left + index * 140
            svg += "<rect x=\"\(x)\" y=\"\(height + 8)\" width=\"14\" height=\"14\" fill=\"\(item.fill)\" stroke=\"#222\" stroke-width=\"0.5\"/><text x=\"\(x + 20)\" y=\"\(height + 20)\" class=\"legend\">\(item.label)</text>\n"
        }
        svg += "</svg>\n"
        svg += "<figcaption>Net of refunds, chargebacks and returns. The table has the figures by method and purpose.</figcaption></figure>\n"
        svg += "<details><summary>Income figures</summary><table><thead><tr><th scope=\"col\">Month</th><th scope=\"col\">Method</th><th scope=\"col\" class=\"num\">Contributions</th><th scope=\"col\" class=\"num\">Donations</th><th scope=\"col\" class=\"num\">Other</th><th scope=\"col\" class=\"num\">Net</th></tr></thead><tbody>\n"
        for row in table {
            svg += "<tr><td>\(ConsoleWords.month(row.month))</td><td>\(ConsoleWords.method(row.method))</td><td class=\"num\">\(ConsoleWords.euros(minorUnits: row.contributions))</td><td class=\"num\">\(ConsoleWords.euros(minorUnits: row.donations))</td><td class=\"num\">\(ConsoleWords.euros(minorUnits: row.other))</td><td class=\"num\">\(ConsoleWords.euros(minorUnits: row.net))</td></tr>\n"
        }
        if table.isEmpty { svg += "<tr><td colspan=\"6\">No income in these months.</td></tr>\n" }
        svg += "</tbody></table></details>"
        return svg
    }

    /// Listed profiles at the end of each month, as a line with a dot per month.
    static func listed(_ months: [StaffLists.ListedMonth]) -> String {
        let width = 640, height = 200, left = 48, bottom = 28
        let plotHeight = height - bottom - 12
        let top = max(months.map(\.listed).max() ?? 0, 4)
        let step = months.count > 1 ? Double(width - left - 16) / Double(months.count - 1) : 0
        var points: [(x: Int, y: Int, month: StaffLists.ListedMonth)] = []
        for (index, month) in months.enumerated() {
            let x = left + 8 + Int(step * Double(index))
            let y = 12 + plotHeight - Int(Double(plotHeight) * Double(month.listed) / Double(top))
            points.append((x, y, month))
        }
        var svg = """
            <figure class="chart"><svg viewBox="0 0 \(width) \(height)" role="img" aria-labelledby="listed-title" xmlns="http://www.w3.org/2000/svg">
            <title id="listed-title">Profiles listed at the end of each of the last \(months.count) months</title>

            """
        for tick in 0...4 {
            let value = top * tick / 4
            let y = 12 + plotHeight - Int(Double(plotHeight) * Double(value) / Double(top))
            svg += "<line x1=\"\(left)\" x2=\"\(width)\" y1=\"\(y)\" y2=\"\(y)\" class=\"grid\"/><text x=\"\(left - 6)\" y=\"\(y + 4)\" class=\"axis\" text-anchor=\"end\">\(value)</text>\n"
        }
        svg += "<polyline fill=\"none\" stroke=\"#1f4e79\" stroke-width=\"2\" points=\"\(points.map { "\($0.x),\($0.y)" }.joined(separator: " "))\"/>\n"
        for (index, point) in points.enumerated() {
            svg += "<circle cx=\"\(point.x)\" cy=\"\(point.y)\" r=\"3.5\" fill=\"#fff\" stroke=\"#1f4e79\" stroke-width=\"2\"><title>\(ConsoleWords.month(point.month.month)): \(point.month.listed) listed</title></circle>\n"
            // Every third month is named, and the last; a third-month label too close to the last is left out.
            if (index % 3 == 0 && index < points.count - 3) || index == points.count - 1 {
                let anchor = index == points.count - 1 ? "end" : index == 0 ? "start" : "middle"
                svg += "<text x=\"\(point.x)\" y=\"\(height - 10)\" class=\"axis\" text-anchor=\"\(anchor)\">\(ConsoleWords.month(point.month.month).prefix(3)) \(point.month.month.prefix(4).suffix(2))</text>\n"
            }
        }
        svg += "</svg></figure>\n"
        svg += "<details><summary>Listed profiles by month</summary><table><thead><tr><th scope=\"col\">Month</th><th scope=\"col\" class=\"num\">Listed</th></tr></thead><tbody>\n"
        for month in months { svg += "<tr><td>\(ConsoleWords.month(month.month))</td><td class=\"num\">\(month.listed)</td></tr>\n" }
        svg += "</tbody></table></details>"
        return svg
    }
}
