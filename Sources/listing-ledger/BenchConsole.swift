import ArgumentParser
import AsyncHTTPClient
import EventStore
import Foundation
import LedgerCore
import LedgerHTTP
import LedgerService
import Logging
import NIOCore
import NIOHTTP1

extension BenchCommand {
    /// `bench console`: every console page rendered by the real server over a ledger of realistic size.
    struct Console: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time every staff console page over a ledger with many profiles and payments.",
            discussion: """
            Unless the ledger already holds the profiles of an earlier run with the same --profiles, that many are registered and \
            certified through the services, and each pays its contribution as an offline payment; then bank \
            donations are appended until the ledger holds --payments payments. The server starts on loopback, a \
            staff user signs in, and each page is fetched --requests times in a row with the session cookie; the \
            median and the 90th percentile of each page's answer time are printed, beside /healthz (the same \
            server doing no work) as the reference.
            """
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "Registered profiles the ledger holds at least.") var profiles: Int = 10_000
        @Option(help: "Payments the ledger holds at least.") var payments: Int = 50_000
        @Option(help: "Requests per page.") var requests: Int = 30

        func validate() throws {
            guard (1...1_000_000).contains(profiles) else { throw ValidationError("--profiles must be 1 to 1,000,000") }
            guard (profiles...10_000_000).contains(payments) else { throw ValidationError("--payments must be at least --profiles and at most 10,000,000") }
            guard (1...10_000).contains(requests) else { throw ValidationError("--requests must be 1 to 10,000") }
        }

        func run() async throws {
            try await reportingFailures {
                try await withBenchRuntime(common, extra: ["http.host": "127.0.0.1", "http.port": "0"]) { try await measure($0) }
            }
        }

        func measure(_ runtime: LedgerRuntime) async throws {
            let clock = ContinuousClock()
            var started = clock.now
            if try await !runtime.profiles.load(try ProfileID("console-\(profiles - 1)")).state.isRegistered {
                let ids = try (0..<profiles).map { try ProfileID("console-\($0)") }
                try await Webhooks.register(ids, runtime)
                printError(String(format: "registered and certified %d profiles in %.1f s", ids.count, (clock.now - started).seconds))
                started = clock.now
                let metadata = CommandAttribution.metadata(actor: "bench", requestID: nil)
                let today = runtime.profiles.policy.calendar.date(at: runtime.now())
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<16 {
                        group.addTask {
                            for index in stride(from: writer, to: ids.count, by: 16) {
                                _ = try await runtime.profiles.recordOfflinePayment(
                                    profileID: ids[index], amount: .euros(minorUnits: 12_500), date: today.addingDays(-(index % 360)),
                                    purpose: .listing, note: "bench", metadata: metadata, idempotencyKey: nil
                                )
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                printError(String(format: "recorded %d contributions in %.1f s", ids.count, (clock.now - started).seconds))
                started = clock.now
                let first = LocalDate(year: today.year - 1, month: today.month, day: 1) ?? today
                let donations = try await Export.fill(runtime, count: payments - profiles, from: first)
                printError(String(format: "appended %d bank donations in %.1f s", donations, (clock.now - started).seconds))
            }
            started = clock.now
            try await ProjectionGroupRunner(store: runtime.store, projections: runtime.projectionRunners.map(\.projection)).catchUp()
            printError(String(format: "read models caught up in %.1f s", (clock.now - started).seconds))

            let email = "bench-\(UUID().uuidString.prefix(6).lowercased())@example.org"
            _ = try await runtime.staffUsers.add(name: "Bench", email: email, password: "bench password 123")
            let (token, _) = try await runtime.staffUsers.signIn(email: email, password: "bench password 123")

            let server = try await BenchServer.start(runtime)
            defer { server.cancel() }
            let base = "http://127.0.0.1:\(server.port)"
            let somePayment = try await runtime.lists.payments(method: .offline, purpose: nil, month: nil, state: nil, limit: 1, offset: 0).first?.paymentId ?? "none"
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let pages = [
                "/healthz", "/console", "/console/exceptions", "/console/statements", "/console/profiles?q=mediator%20\(profiles / 2)",
                "/console/profiles/console-\(profiles / 2)", "/console/payments", "/console/payments?method=bank&month=\(today.addingMonths(-3).description.prefix(7))",
                "/console/payments/\(somePayment)", "/console/listings?view=this-month", "/console/listings?view=active", "/console/directory",
                "/console/settings",
            ]
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration())
            do {
                print("page\tmedian ms\tp90 ms\tbytes  (\(runtime.store.backendName), \(profiles) profiles, \(payments) payments, \(requests) requests each)")
                for page in pages {
                    var times: [Double] = []
                    var bytes = 0
                    for _ in 0..<requests {
                        var request = HTTPClientRequest(url: base + page)
                        request.headers.add(name: "Cookie", value: "ll_session=\(token)")
                        let sent = clock.now
                        let response = try await client.execute(request, timeout: .seconds(60))
                        let body = try await response.body.collect(upTo: 64 * 1_048_576)
                        times.append((clock.now - sent).seconds * 1_000)
                        guard response.status.code == 200 else { throw Failure.failed("\(page) answered \(response.status.code)") }
                        bytes = body.readableBytes
                    }
                    times.sort()
                    print(String(format: "%@\t%.1f\t%.1f\t%d", page, times[times.count / 2], times[min(times.count - 1, times.count * 9 / 10)], bytes))
                }
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            await server.stop()
        }
    }
}
