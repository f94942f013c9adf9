import HTTPTypes
import Hummingbird
import NIOCore

/// Refuses request bodies over the configured size: at once when `Content-Length` says so, and while
/// streaming otherwise (chunked bodies), before any handler reads past the limit.
/// Added per route group, so a group with larger bodies (statement uploads) has its own limit.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let bodyBytesMax: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > bodyBytesMax {
            throw Problem.contentTooLarge(limit: bodyBytesMax)
        }
        var request = request
        request.body = RequestBody(asyncSequence: LimitedBody(base: request.body, limit: bodyBytesMax))
        var context = context
        context.bodyBytesMax = bodyBytesMax
        return try await next(request, context)
    }
}

/// A body that throws once more than `limit` bytes have arrived.
struct LimitedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let limit: Int
        var received = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else { return nil }
            received += buffer.readableBytes
            if received > limit { throw Problem.contentTooLarge(limit: limit) }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), limit: limit)
    }
}
