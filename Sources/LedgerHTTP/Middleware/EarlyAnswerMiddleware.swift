import HTTPTypes
import Hummingbird
import NIOCore

/// Reads what is left of a request body before the answer goes out, so a client that sends the whole body
/// before reading (Python's `urllib`, with `Connection: close`) receives an early answer (401, 413, 422)
/// instead of waiting for ever: Hummingbird reads the rest of a body only on connections it keeps open.
///
/// At most `drainBytesMax` bytes are read (the largest body any route accepts, and a margin); a sender of
/// more than that gets its connection closed without an answer, because reading on would be the attack the
/// limits prevent.
struct EarlyAnswerMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext

    /// How much of a body is read, in all, before the connection is closed instead.
    let drainBytesMax: Int

    /// The margin beyond the largest accepted body.
    static let marginBytes = 1_048_576

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let state = BodyReadState(base: request.body)
        var request = request
        request.body = RequestBody(asyncSequence: TrackedBody(state: state))
        let response = try await next(request, context)
        do {
            try await state.drain(upTo: drainBytesMax)
        } catch {
            // Too much to read, or the client went away: close, so neither side waits on the other.
            context.channel?.close(promise: nil)
        }
        return response
    }
}

/// Who has read how much of one request body. Used by the one task handling the request, in turn: the
/// route reads through ``TrackedBody``, then the middleware drains what is left.
final class BodyReadState: @unchecked Sendable {
    private let base: RequestBody
    private var iterator: RequestBody.AsyncIterator?
    private(set) var finished = false
    private var bytesRead = 0

    init(base: RequestBody) {
        self.base = base
    }

    func next() async throws -> ByteBuffer? {
        guard !finished else { return nil }
        var current = iterator ?? base.makeAsyncIterator()
        let buffer = try await current.next()
        iterator = current
        if let buffer { bytesRead += buffer.readableBytes } else { finished = true }
        return buffer
    }

    /// Reads and discards the rest of the body, until `bytesMax` bytes have been read in all; beyond that the
    /// connection must close.
    func drain(upTo bytesMax: Int) async throws {
        while try await next() != nil {
            if bytesRead > bytesMax { throw DrainLimitExceeded() }
        }
    }

    struct DrainLimitExceeded: Error {}
}

/// The request body, read through ``BodyReadState``.
struct TrackedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let state: BodyReadState

    struct AsyncIterator: AsyncIteratorProtocol {
        let state: BodyReadState
        mutating func next() async throws -> ByteBuffer? { try await state.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(state: state) }
}
