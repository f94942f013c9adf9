@testable import EventStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import TestSupport
import Testing

/// The connection pool lives exactly as long as the store, whichever task started it.
@Suite("PostgreSQL pool lifetime")
struct PoolLifetimeTests {
    /// After a failover the store starts a new pool from whatever task noticed the lost connection, such as a
    /// request handler inside `serve`'s service group. PostgresClient stops itself on its task's graceful
    /// shutdown, so a pool started in that task's context would stop at SIGTERM, before the services that still
    /// need it have finished.
    @Test
    func aPoolStartedInsideAServiceKeepsServingAfterTheServiceGroupBeginsToStop() async throws {
        let settings = try TestDatabase.adminSettings()
        let logger = Logger(label: "pool-lifetime")
        let server = try #require(settings.servers.first)
        let holder = PoolHolder(
            server: server, client: try PostgresEventStore.makeClient(settings, maximumConnections: 2, connectTimeout: .seconds(5), logger: logger)
        )
        struct Replacing: Service {
            let replace: @Sendable () throws -> Void
            func run() async throws {
                try replace()
                try await gracefulShutdown()
            }
        }
        let replaced = AsyncStream<Void>.makeStream()
        let service = Replacing {
            holder.replace(server: server, client: try PostgresEventStore.makeClient(settings, maximumConnections: 2, connectTimeout: .seconds(5), logger: logger))
            replaced.continuation.yield()
        }
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let running = Task { try await group.run() }
        for await _ in replaced.stream { break }
        await group.triggerGracefulShutdown()
        try await running.value
        // The group has stopped; the pool it started must still answer until the store closes it.
        let answer = try await holder.client.query("SELECT 41 + 1", logger: logger).collect().first?.decode(Int.self)
        #expect(answer == 42)
        for task in holder.stop() {
            task.cancel()
            await PostgresEventStore.waitForEnd(of: task, atMost: .seconds(5))
        }
    }
}
