import Foundation
import HTTPTypes
import Hummingbird
import LedgerService
import Logging
import NIOCore

/// The console's cookies and its session check.
enum ConsoleCookie {
    static let session = "ll_session"
    static let signIn = "ll_sign_in"
    static let notice = "ll_notice"

    /// A `Set-Cookie` value: HttpOnly and SameSite always, Secure in production.
    static func header(_ name: String, _ value: String, path: String = "/console", maxAge: Int, sameSite: String = "Lax", secure: Bool) -> String {
        "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=\(sameSite)\(secure ? "; Secure" : "")"
    }

    /// The named cookie of the request, if present (Hummingbird's cookie parsing).
    static func value(_ request: Request, _ name: String) -> String? {
        request.cookies[name]?.value
    }
}

/// Lets only signed-in people through to the console and checks every form's token.
///
/// - No session (none, expired, signed out, or its user disabled): a page is answered with a redirect to
///   sign-in that comes back to it; a form is answered the same way, and nothing is done.
/// - API keys open nothing here: `Authorization` is not read.
/// - A form (POST) must carry the session's token as its `_csrf` field; in a file upload (a multipart form) it
///   is the first field, checked before the file is read. Without it the answer is 403 and nothing is done.
struct ConsoleSessionMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let users: StaffUsers

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = ConsoleCookie.value(request, ConsoleCookie.session), let session = try await users.session(token: token) else {
            let back = request.method == .get ? request.uri.description : "/console"
            return ConsolePage.redirect("/console/sign-in?next=\(ConsoleForm.percentEncoded(back))")
        }
        var context = context
        context.staffSession = session
        context.logger[metadataKey: "staff_user"] = .string(session.user.email)
        guard request.method == .post else { return try await next(request, context) }
        var request = request
        let presented: String?
        let boundary: String?
        do {
            boundary = try MultipartBoundary.of(request.headers[.contentType])
        } catch let problem as Problem {
            // A page with a sentence, as every console failure; nothing is done.
            return ConsolePage.plainMessage(
                status: .badRequest, title: "This upload could not be read",
                message: ConsoleWords.sentence(problem.detail) + " Go back and choose the file again."
            )
        }
        if let boundary {
            // The token is the form's first field, read before the file (never `?_csrf=` in the address).
            let field = try await MultipartFirstField.read(request.body, boundary: boundary)
            presented = field?.name == "_csrf" ? field?.value : nil
            if let field { request.body = field.body }
        } else {
            let buffer = try await request.body.collect(upTo: context.bodyBytesMax)
            do {
                context.form = try ConsoleForm.parse(buffer)
            } catch let problem as Problem {
                // A page with a sentence, as every console failure; nothing is done.
                return ConsolePage.plainMessage(
                    status: .badRequest, title: "This form could not be read",
                    message: ConsoleWords.sentence(problem.detail) + " Go back, correct that field and send the form again."
                )
            }
            presented = context.form["_csrf"]
            request.body = RequestBody(buffer: buffer)
        }
        guard let presented, ConsoleForm.constantTimeEquals(presented, session.formToken) else {
            return ConsolePage.plainMessage(
                status: .forbidden, title: "This form has expired",
                message: "The form was sent without its security token, or from an old page. Go back, reload the page and try again."
            )
        }
        return try await next(request, context)
    }
}

/// A statement upload larger than the upload limit is answered with a page in words, as every console failure
/// is; the body limit's own answer is the API's problem document. Added outside the group's body limit.
struct ConsoleTooLargeMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let bodyBytesMax: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem where problem.status == .contentTooLarge {
            return ConsolePage.plainMessage(status: .contentTooLarge, title: "This file is too large", message: ConsoleWords.fileTooLarge(bodyBytesMax))
        }
    }
}

/// URL-encoded forms.
enum ConsoleForm {
    /// The fields of an `application/x-www-form-urlencoded` body; the last value of a repeated name wins.
    /// A control character other than a line break or tab is refused.
    static func parse(_ buffer: ByteBuffer) throws -> [String: String] {
        var fields: [String: String] = [:]
        let text = String(buffer: buffer)
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else {
                throw Problem.badRequest("the form is not URL-encoded")
            }
            guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && ![0x09, 0x0A, 0x0D].contains($0.value)) || (0x7F...0x9F).contains($0.value) }) else {
                throw Problem.badRequest("the form field '\(name.prefix(40))' holds a control character")
            }
            fields[name] = value
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `text` as one segment of a path: everything but ASCII letters, digits and `-._~` percent-encoded (a `/`
    /// too), as ``pathParameter(_:_:)`` reads it back.
    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet()
        allowed.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
