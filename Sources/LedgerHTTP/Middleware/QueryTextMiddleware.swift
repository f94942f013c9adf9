import Hummingbird

/// Refuses a query string whose decoded values hold control characters (`%00`, `%0A`, U+0085 …).
/// No parameter means anything with one, and a NUL cannot reach PostgreSQL as text at all: without this
/// check `?search=%00` would come back as a database failure instead of the caller's mistake.
struct QueryTextMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        for (name, value) in request.uri.queryParameters where Self.hasControl(value) {
            throw Problem.badRequest("the query parameter '\(Self.printable(name))' holds a control character; send plain text")
        }
        return try await next(request, context)
    }

    static func hasControl(_ text: Substring) -> Bool {
        text.unicodeScalars.contains { (0x00...0x1F).contains($0.value) || (0x7F...0x9F).contains($0.value) }
    }

    /// The name as it can be shown back: controls replaced, at most 40 characters.
    static func printable(_ name: Substring) -> String {
        String(String.UnicodeScalarView(name.prefix(40).unicodeScalars.map { hasControl(Substring(String($0))) ? "?" : $0 }))
    }
}
