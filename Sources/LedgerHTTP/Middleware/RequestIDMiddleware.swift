import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an id, logs it with every line, and echoes it in `X-Request-Id`.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext

    static let header = HTTPField.Name("X-Request-Id")!
    /// The longest client-supplied id we keep; longer or odd ones are replaced.
    static let idBytesMax = 128

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let presented = request.headers[Self.header]
        let id = presented.flatMap { Self.isAcceptable($0) ? $0 : nil } ?? UUID().uuidString.lowercased()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[Self.header] = id
        return response
    }

    static func isAcceptable(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= idBytesMax
            && id.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.:".unicodeScalars.contains($0)) }
    }
}
