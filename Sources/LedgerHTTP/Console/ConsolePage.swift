import Foundation
import HTTPTypes
import Hummingbird
import LedgerService
import Mustache
import NIOCore

/// Renders console pages: a page's own template inside the layout, with the navigation and the person.
enum ConsolePage {
    struct NavItem {
        var href: String
        var label: String
    }

    static let navigation = [
        NavItem(href: "/console", label: "Today"),
        NavItem(href: "/console/exceptions", label: "Exceptions"),
        NavItem(href: "/console/statements", label: "Statements"),
        NavItem(href: "/console/books", label: "Books"),
        NavItem(href: "/console/profiles", label: "Profiles"),
        NavItem(href: "/console/payments", label: "Payments"),
        NavItem(href: "/console/listings", label: "Listings"),
        NavItem(href: "/console/directory", label: "Directory"),
        NavItem(href: "/console/settings", label: "Settings"),
    ]

    /// Headers every console answer carries: nothing cached, nothing framed, scripts and styles only from here.
    static func securityHeaders() -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return headers
    }

    /// A page: `template` rendered with `data`, inside the layout.
    static func render(
        _ template: String, title: String, section: String, data: [String: Any], session: StaffSession?,
        notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]
    ) -> Response {
        var data = data
        if let session {
            data["csrf"] = session.formToken
            // Names the forms of this one drawing of the page: a form sent twice is carried out once.
            data["formKey"] = UUID().uuidString.lowercased()
        }
        let body = ConsoleTemplates.render(template, data)
        var layout: [String: Any] = ["title": title, "body": body]
        if let session {
            layout["user"] = ["name": session.user.name, "csrf": session.formToken]
            layout["nav"] = navigation.map { item -> [String: Any] in
                ["href": item.href, "label": item.label, "current": item.href == section]
            }
        }
        if let notice { layout["notice"] = notice }
        if let error { layout["error"] = error }
        var headers = securityHeaders()
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.render("layout", layout))))
    }

    /// A page with only a title and a sentence, for refusals outside any session.
    static func plainMessage(status: HTTPResponse.Status, title: String, message: String) -> Response {
        render("message", title: title, section: "", data: ["heading": title, "message": message], session: nil, status: status)
    }

    /// 303 See Other to `location`, optionally leaving a notice for the next page: shown as an alert when it says
    /// why a form was refused (`refused`), so that it never looks like one that was carried out.
    static func redirect(_ location: String, notice: String? = nil, refused: Bool = false, secure: Bool = false) -> Response {
        var headers = securityHeaders()
        headers[.location] = location
        if let notice {
            let encoded = Data(notice.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            headers[.setCookie] = ConsoleCookie.header(ConsoleCookie.notice, (refused ? refusalMark : "") + encoded, maxAge: 60, secure: secure)
        }
        return Response(status: .seeOther, headers: headers)
    }

    /// Marks a notice that says why a form was refused (outside the Base64 alphabet the notice is written in).
    private static let refusalMark = "!"

    /// The notice a redirect left, whether it says why a form was refused, and the header that clears it.
    static func takeNotice(_ request: Request, secure: Bool) -> (notice: String?, refused: Bool, clearing: HTTPFields) {
        guard var value = ConsoleCookie.value(request, ConsoleCookie.notice), value.utf8.count <= 2_000 else { return (nil, false, [:]) }
        let refused = value.hasPrefix(refusalMark)
        if refused { value.removeFirst() }
        var base64 = value.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let text = Data(base64Encoded: base64).map { String(decoding: $0, as: UTF8.self) }
        var headers = HTTPFields()
        headers[.setCookie] = ConsoleCookie.header(ConsoleCookie.notice, "", maxAge: 0, secure: secure)
        return (text, refused, headers)
    }
}
