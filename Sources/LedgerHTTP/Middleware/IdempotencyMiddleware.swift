import Foundation
import HTTPTypes
import Hummingbird
import LedgerService
import Logging
import NIOCore

/// Keeps the promise of `Idempotency-Key` on every POST of an authenticated group: the first successful
/// outcome (status, body, `Location`) is stored with a fingerprint of the request, the same key with the same
/// request gets it back (with `Idempotent-Replayed: true`), across restarts and whatever the clock says, and
/// the same key with another request is refused with 422 `idempotency-key-reused`. While the first request
/// is being answered its key is claimed: the same request sent again meanwhile answers 409
/// `idempotency-key-in-use` and runs nothing.
///
/// Below this, commands still derive their event ids from the key, so a request that crashed after its
/// commit but before its outcome was stored is completed, not repeated, when it is sent again.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let records: IdempotencyRecords

    static let header = HTTPField.Name("Idempotency-Key")
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")
    /// The longest key accepted, in bytes.
    static let keyBytesMax = 255

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let name = Self.header, let key = request.headers[name], let caller = context.caller else {
            return try await next(request, context)
        }
        try Self.validate(key)
        var request = request
        let body = try await request.collectBody(upTo: context.bodyBytesMax)
        let fingerprint = IdempotentOutcome.fingerprint(
            method: request.method.rawValue, path: request.uri.description, contentType: request.headers[.contentType], body: body.readableBytesView
        )
        let token: Data
        switch try await records.claim(caller: caller.keyID, key: key, fingerprint: fingerprint) {
        case .answered(let first):
            return try Self.replay(first, fingerprint: fingerprint)
        case .inProgress(let other):
            guard other == fingerprint else { throw Self.reused }
            throw Problem(
                .conflict, "idempotency-key-in-use", title: "Request in progress",
                detail: "a request with this Idempotency-Key is still being answered; send it again in a moment to get its answer"
            )
        case .claimed(let claimToken):
            token = claimToken
        }
        // A refused or failed request leaves the key free for a corrected one.
        let ((response, kept), recorded) = try await records.run(caller: caller.keyID, key: key, token: token, storeFailed: { storeError in
            context.logger.warning("an Idempotency-Key claim could not be released or its answer kept", metadata: ["error": "\(storeError)"])
        }) { () async throws -> (answer: (Response, IdempotentOutcome?), keep: IdempotentOutcome?) in
            var response = try await next(request, context)
            guard (200..<300).contains(response.status.code) else { return ((response, nil), nil) }
            let collector = BodyCollector()
            try await response.body.write(collector)
            let bytes = collector.bytes
            response.body = ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
            guard bytes.count <= IdempotencyRecords.bodyBytesMax else { return ((response, nil), nil) }
            // An answer that must not be stored (`Cache-Control: no-store`: a secret shown once) is kept sealed.
            let outcome = IdempotentOutcome(
                fingerprint: fingerprint, status: Int(response.status.code),
                contentType: response.headers[.contentType] ?? "application/json", location: response.headers[.location], body: Data(bytes),
                carriesSecret: response.headers[.cacheControl]?.contains("no-store") == true
            )
            return ((response, outcome), outcome)
        }
        // The claim outlived ``IdempotencyRecords/claimSeconds`` and a retry answered first: that is the answer.
        guard let recorded, recorded != kept else { return response }
        return try Self.replay(recorded, fingerprint: fingerprint)
    }

    static var reused: Problem {
        Problem(
            .unprocessableContent, "idempotency-key-reused", title: "Idempotency key reused",
            detail: "this Idempotency-Key was used before for a different request; send a new key for a new request"
        )
    }

    static func validate(_ key: String) throws {
        guard !key.isEmpty, key.utf8.count <= keyBytesMax, key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw Problem.badRequest("Idempotency-Key must be 1 to \(keyBytesMax) visible ASCII characters")
        }
    }

    static func replay(_ first: IdempotentOutcome, fingerprint: Data) throws -> Response {
        guard first.fingerprint == fingerprint else { throw reused }
        var headers: HTTPFields = [.contentType: first.contentType]
        if let location = first.location { headers[.location] = location }
        if first.carriesSecret { headers[.cacheControl] = "no-store" }
        if let name = replayedHeader { headers[name] = "true" }
        let status = HTTPResponse.Status(code: first.status)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: first.body)))
    }
}

/// Collects a response body written by a route, so its bytes can be stored.
final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    // Written only by the one task that writes the body, before `bytes` is read.
    private(set) var bytes: [UInt8] = []

    func write(_ buffer: ByteBuffer) async throws {
        bytes.append(contentsOf: buffer.readableBytesView)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
