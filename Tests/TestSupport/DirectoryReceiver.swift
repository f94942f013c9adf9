import Crypto
public import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import Synchronization

/// A directory on loopback that receives our Standard Webhooks, verifies each signature on its own (with
/// swift-crypto, not the code under test), and remembers what arrived. Tests set how it answers.
public final class DirectoryReceiver: Sendable {
    /// One request as received.
    public struct Received: Sendable, Hashable {
        public var webhookID: String
        public var timestamp: Int64
        public var signatures: [String]
        public var body: Data
        /// Whether a `v1` signature matched the receiver's secret and the timestamp was within 5 minutes.
        public var verified: Bool

        /// The payload's `data` object.
        public var data: [String: Any] {
            let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
            return (object?["data"] as? [String: Any]) ?? [:]
        }

        public var type: String? {
            ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["type"] as? String
        }
    }

    struct State {
        var secret: Data?
        var attempts = 0
        var status = 200
        var retryAfter: String?
        var received: [Received] = []
        var server: LoopbackServer?
        /// While set, requests wait before they are answered, until ``release()``.
        var holding = false
        var held: [CheckedContinuation<Void, Never>] = []
        /// While set, requests are answered 200 and then the body stalls after its first byte.
        var stalling = false
        /// Answers whose status line and first byte were written, and which then stalled.
        var stalled = 0
    }

    let state = Mutex(State())
    let now: @Sendable () -> Date

    private init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    /// Starts a receiver on an OS-chosen port. `now` is the receiver's clock for the timestamp check (a test
    /// passes the service's simulated clock).
    public static func start(now: @escaping @Sendable () -> Date = { Date() }) async throws -> DirectoryReceiver {
        let receiver = DirectoryReceiver(now: now)
        let router = Router()
        router.post("hooks") { request, context -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            await receiver.waitWhileHolding()
            if receiver.state.withLock({ $0.stalling }) {
                receiver.state.withLock { $0.attempts += 1 }
                return Response(status: .ok, body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "{"))
                    receiver.state.withLock { $0.stalled += 1 }
                    // Until the test stops stalling, or the receiver stops.
                    while receiver.state.withLock({ $0.stalling }) { try await Task.sleep(for: .milliseconds(50)) }
                    try await writer.finish(nil)
                })
            }
            return receiver.receive(headers: request.headers, body: Data(buffer: body))
        }
        let server = try await LoopbackServer.start(name: "directory receiver", router: router)
        receiver.state.withLock { $0.server = server }
        return receiver
    }

    /// Where to deliver.
    public var url: String { "http://127.0.0.1:\(state.withLock { $0.server?.port ?? 0 })/hooks" }

    /// The `whsec_…` secret to verify with (as shown when the endpoint was added).
    public func trust(secret: String) {
        let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count)))
        state.withLock { $0.secret = key }
    }

    /// How to answer from now on.
    public func answer(status: Int, retryAfter: String? = nil) {
        state.withLock {
            $0.status = status
            $0.retryAfter = retryAfter
        }
    }

    /// Answers every request from now on with 200 and a body that stops after its first byte until `stall(false)`
    /// or ``stop()`` (with `false`, answers as before).
    public func stall(_ stalling: Bool = true) {
        state.withLock { $0.stalling = stalling }
    }

    /// How many answers stalled after their status line and first byte.
    public var stalled: Int { state.withLock { $0.stalled } }

    /// Keeps every request from now on waiting, unanswered, until ``release()``: a delivery in flight.
    public func hold() {
        state.withLock { $0.holding = true }
    }

    /// Answers the requests held so far, and stops holding.
    public func release() {
        let held = state.withLock { state in
            state.holding = false
            defer { state.held = [] }
            return state.held
        }
        for request in held { request.resume() }
    }

    /// Answers the oldest request held, and goes on holding the others and the ones to come.
    public func releaseOldest() {
        let oldest = state.withLock { state in state.held.isEmpty ? nil : state.held.removeFirst() }
        oldest?.resume()
    }

    /// How many requests are waiting to be answered.
    public var requestsHeld: Int { state.withLock { $0.held.count } }

    func waitWhileHolding() async {
        await withCheckedContinuation { (request: CheckedContinuation<Void, Never>) in
            let answerNow = state.withLock { state in
                guard state.holding else { return true }
                state.held.append(request)
                return false
            }
            if answerNow { request.resume() }
        }
    }

    /// Requests answered 2xx, in arrival order.
    public var received: [Received] { state.withLock { $0.received } }

    /// Every request, however it was answered.
    public var attempts: Int { state.withLock { $0.attempts } }

    /// Stops the server, letting requests in flight finish (held ones are released). Safe to call twice.
    public func stop() async {
        stall(false)
        release()
        await state.withLock { $0.server }?.stop()
    }

    private func receive(headers: HTTPFields, body: Data) -> Response {
        let id = headers[HTTPField.Name("webhook-id")!] ?? ""
        let timestamp = Int64(headers[HTTPField.Name("webhook-timestamp")!] ?? "") ?? 0
        let signatures = (headers[HTTPField.Name("webhook-signature")!] ?? "").split(separator: " ").map(String.init)
        let instant = Int64(now().timeIntervalSince1970)
        return state.withLock { state in
            state.attempts += 1
            var verified = false
            if let key = state.secret, abs(instant - timestamp) <= 300 {
                var message = Data("\(id).\(timestamp).".utf8)
                message.append(body)
                let expected = "v1," + Data(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))).base64EncodedString()
                verified = signatures.contains(expected)
            }
            if verified, (200..<300).contains(state.status) {
                state.received.append(Received(webhookID: id, timestamp: timestamp, signatures: signatures, body: body, verified: verified))
            }
            var response = Response(status: HTTPResponse.Status(code: verified ? state.status : 401))
            if let retryAfter = state.retryAfter { response.headers[.retryAfter] = retryAfter }
            return response
        }
    }
}
