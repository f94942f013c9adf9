import ArgumentParser
import EventStore
import Foundation
import LedgerCore
import LedgerHTTP
import LedgerService
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Payments
import ServiceLifecycle
import Synchronization

extension BenchCommand {
    /// `bench webhooks`: signed card webhooks over HTTP on loopback, each paying one profile's listing.
    struct Webhooks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send signed card webhooks to the running service over many connections and time them end to end.",
            discussion: """
            Registers and certifies --webhooks profiles through the services, starts the service on a free loopback \
            port (HTTP API and background work, as `serve` runs them), and sends one signed \
            `checkout.session.completed` webhook per profile, paying its listing contribution, over --connections \
            keep-alive connections. The read models take in the registrations before the clock starts. Reports the \
            webhooks accepted per second (each answered only once durable), the answer times, and how long after \
            the last answer every profile was listed in the read model.
            """
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "Webhooks to send, one per profile.") var webhooks: Int = 10_000
        @Option(help: "Concurrent keep-alive connections.") var connections: Int = 16

        func validate() throws {
            guard (1...1_000_000).contains(webhooks), (1...256).contains(connections) else {
                throw ValidationError("--webhooks must be 1 to 1,000,000 and --connections 1 to 256")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let secret = "whsec_bench_\(UUID().uuidString.prefix(8).lowercased())"
                let configuration = try await common.resolve(extra: [
                    "card.webhook_secrets": secret, "http.host": "127.0.0.1", "http.port": "0",
                ])
                // Requests are not logged one by one while measuring.
                var logger = Logger(label: "bench")
                logger.logLevel = .warning
                let runtime = try await LedgerRuntime.open(configuration, logger: logger)
                do {
                    try await Self.measure(runtime, secret: secret, webhooks: webhooks, connections: connections)
                } catch {
                    await runtime.close()
                    throw error
                }
                await runtime.close()
            }
        }

        static func measure(_ runtime: LedgerRuntime, secret: String, webhooks: Int, connections: Int) async throws {
            let run = String(UUID().uuidString.prefix(6).lowercased())
            let profiles = try (0..<webhooks).map { try ProfileID("hook-\(run)-\($0)") }
            try await register(profiles, runtime)
            // The read models and the directory outbox take in the registrations before the clock starts, so the
            // timed window holds the webhooks' work only.
            try await ProjectionGroupRunner(store: runtime.store, projections: runtime.projectionRunners.map(\.projection)).catchUp()
            try await runtime.directoryPublisher.outbox.catchUp()
            printError("registered and certified \(profiles.count) profiles; sending the webhooks")
            let server = try await BenchServer.start(runtime)
            defer { server.cancel() }
            let bodies = profiles.enumerated().map { index, profileID in checkoutCompleted(profileID, run: run, index: index) }

            let port = server.port
            let clock = ContinuousClock()
            let started = clock.now
            let latencies: [Duration]
            do {
                latencies = try await withThrowingTaskGroup(of: [Duration].self) { tasks in
                    for connection in 0..<connections {
                        tasks.addTask {
                            let mine = stride(from: connection, to: bodies.count, by: connections).map { bodies[$0] }
                            return try await WebhookConnection.send(mine, port: port, secret: secret, clock: clock)
                        }
                    }
                    var all: [Duration] = []
                    for try await part in tasks { all += part }
                    return all
                }
            } catch {
                // Stopped as SIGTERM would stop it: a server cancelled while it still takes connections in traps
                // in SwiftNIO.
                await server.stop()
                throw error
            }
            let answered = clock.now
            let seconds = (answered - started).seconds
            let sorted = latencies.sorted()
            func percentile(_ fraction: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))].seconds * 1_000
            }
            print(String(
                format: "webhooks %@: %d accepted over %d connections in %.2f s: %.0f webhooks/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                runtime.store.backendName, latencies.count, connections, seconds, Double(latencies.count) / seconds,
                percentile(0.50), percentile(0.99), (sorted.last ?? .zero).seconds * 1_000
            ))
            // The listing read model has every profile visible once the projections have handled every webhook.
            let listed = try await waitUntilListed(profiles.count, run: run, runtime)
            let caughtUp = clock.now
            print(String(
                format: "listed: %d of %d profiles visible in the read model %.2f s after the last answer (%.0f webhooks/s end to end)",
                listed, profiles.count, (caughtUp - answered).seconds, Double(latencies.count) / (caughtUp - started).seconds
            ))
            await server.stop()
        }

        /// Registers and certifies the profiles through the services, 16 at a time.
        static func register(_ profiles: [ProfileID], _ runtime: LedgerRuntime) async throws {
            let metadata = CommandAttribution.metadata(actor: "bench", requestID: nil)
            let writers = 16
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for index in stride(from: writer, to: profiles.count, by: writers) {
                            let id = profiles[index]
                            _ = try await runtime.profiles.handle(
                                .register(kind: .mediator, displayName: "Mediator \(index)", contactEmail: "m\(index)@example.org"), profileID: id, metadata: metadata
                            )
                            _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: id, metadata: metadata)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        /// A `checkout.session.completed` event as the card provider sends it: paid, 125 EUR, for the listing.
        static func checkoutCompleted(_ profileID: ProfileID, run: String, index: Int) -> Data {
            let created = Int64(Date().timeIntervalSince1970)
            let session = "cs_bench_\(run)_\(index)"
            return Data("""
            {"id":"evt_bench_\(run)_\(index)","object":"event","api_version":"2024-06-20","created":\(created),\
            "data":{"object":{"id":"\(session)","object":"checkout.session","amount_subtotal":12500,"amount_total":12500,\
            "client_reference_id":"listing:\(profileID.rawValue)","created":\(created),"currency":"eur","livemode":false,\
            "metadata":{},"mode":"payment","payment_intent":"pi_bench_\(run)_\(index)","payment_method_types":["card"],\
            "payment_status":"paid","status":"complete"}},"livemode":false,"pending_webhooks":1,\
            "request":{"id":null,"idempotency_key":null},"type":"checkout.session.completed"}
            """.utf8)
        }

        /// Waits (up to five minutes) until the listing read model shows every profile of this run listed.
        static func waitUntilListed(_ expected: Int, run: String, _ runtime: LedgerRuntime) async throws -> Int {
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(300)
            while true {
                let listed = try await runtime.store.withReadModelConnection { connection in
                    try await connection.query(
                        "SELECT COUNT(*) FROM listing_status WHERE profile_id LIKE ? AND visible = 1", [.text("hook-\(run)-%")]
                    ).first?.integer(0) ?? 0
                }
                if listed >= expected || clock.now > deadline { return Int(listed) }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }
}

/// One keep-alive HTTP/1.1 connection to the service, sending signed card webhooks one after another the way
/// the provider does: each is signed as it is sent, and the next goes once the answer is in. It speaks HTTP
/// through SwiftNIO's own encoder and decoder and does nothing else, so the load it puts on the machine's CPUs
/// is as small as a client's can be (a general-purpose client with its pool and timers took a tenth of them).
enum WebhookConnection {
    /// How long the service may be silent while an answer is awaited before the run stops.
    static let answerTimeout: TimeAmount = .seconds(30)
    /// The most of an answer's body kept, to quote in an error.
    static let answerBytesKept = 64 * 1024

    /// Sends `bodies` in order and returns each one's time from sending to the complete answer; anything but
    /// 200, or no answer for ``answerTimeout``, stops the run.
    static func send(_ bodies: [Data], port: Int, secret: String, clock: ContinuousClock) async throws -> [Duration] {
        do {
            return try await exchange(bodies, port: port, secret: secret, clock: clock)
        } catch is ChannelError {
            throw Failure.failed(
                "the service closed a connection, or was silent for \(answerTimeout.nanoseconds / 1_000_000_000) s, before answering a webhook"
            )
        }
    }

    private static func exchange(_ bodies: [Data], port: Int, secret: String, clock: ContinuousClock) async throws -> [Duration] {
        let connected = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: answerTimeout))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(CloseWhenSilent())
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        // Wrapped once connected, by this task, which goes on to use it: a wrapper made while connecting and then
        // dropped (the connection failed, or the run stopped meanwhile) traps in SwiftNIO. Nothing is read before
        // the first request is sent.
        let channel = try await connected.eventLoop.submit {
            // A closed channel is not wrapped: the wrapper would be dropped half made, which traps too.
            guard connected.isActive else { throw ChannelError.ioOnClosedChannel }
            return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: connected)
        }.get()
        return try await channel.executeThenClose { inbound, outbound in
            var answers = inbound.makeAsyncIterator()
            var latencies: [Duration] = []
            latencies.reserveCapacity(bodies.count)
            for body in bodies {
                let sent = clock.now
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/webhooks/card")
                head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
                head.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
                head.headers.add(name: "Content-Length", value: String(body.count))
                head.headers.add(
                    name: "Stripe-Signature", value: CardSignature.header(payload: body, secrets: [secret], timestamp: Int64(Date().timeIntervalSince1970))
                )
                var status: HTTPResponseStatus?
                var answer = ByteBuffer()
                try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
                reading: while true {
                    switch try await answers.next() {
                    case .head(let head)?: status = head.status
                    case .body(var part)?: if answer.readableBytes < answerBytesKept { answer.writeBuffer(&part) }
                    case .end?: break reading
                    case nil: throw ChannelError.eof
                    }
                }
                guard status == .ok else {
                    throw Failure.failed("a webhook was answered \(status?.code ?? 0): \(String(buffer: answer))")
                }
                latencies.append(clock.now - sent)
            }
            return latencies
        }
    }
}

/// Closes its channel when ``IdleStateHandler`` says nothing was read for its timeout, so a waiting reader ends.
private final class CloseWhenSilent: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = HTTPClientResponsePart

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
