public import EventStore
public import Foundation
public import LedgerService
import Logging

/// Builds a ``LedgerRuntime`` on a fresh database, as `serve` would, for tests.
public enum TestRuntime {
    /// The pepper test keys are hashed with.
    public static let pepper = "test-pepper"

    /// A runtime on a fresh, migrated database of `backend`, listening on a free port. `settings` adds or
    /// overrides configuration by key (`card.secret_key`).
    public static func make(
        _ backend: Backend,
        bodyBytesMax: Int = 64 * 1024,
        settings: [String: String] = [:],
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> LedgerRuntime {
        let url = try await TestDatabase.freshURL(backend)
        return try await open(url, bodyBytesMax: bodyBytesMax, settings: settings, now: now)
    }

    /// A runtime on an existing database: several of these on one PostgreSQL database are several instances
    /// of the service.
    public static func open(
        _ url: DatabaseURL,
        bodyBytesMax: Int = 64 * 1024,
        settings: [String: String] = [:],
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> LedgerRuntime {
        let configuration = try await LedgerConfiguration.resolve(
            commandLine: [
                "database.url": url.connectionString, "http.port": "0", "api_key.pepper": pepper,
                "http.body_bytes_max": String(bodyBytesMax),
            ].merging(settings) { _, given in given },
            environment: [:]
        )
        return try await LedgerRuntime.open(configuration, now: now, logger: Logger(label: "listing-ledger.tests"))
    }
}

/// A clock tests move by hand.
public final class TestClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date) {
        current = Mutex(start)
    }

    public var now: Date { current.withLock { $0 } }

    /// Sets the time.
    public func set(_ instant: Date) { current.withLock { $0 = instant } }

    /// The clock as the runtime takes it.
    public var function: @Sendable () -> Date { { self.now } }

    /// A clock that moves `step` forward each time it is read, so no two readings are equal.
    public var ticking: @Sendable (_ step: TimeInterval) -> (@Sendable () -> Date) {
        { step in { self.current.withLock { now in
            now += step
            return now
        } } }
    }
}

import Synchronization

extension DatabaseURL {
    /// The URL as text that ``DatabaseURL/init(parsing:)`` reads back, password included.
    public var connectionString: String {
        switch self {
        case .sqlite(let path):
            return "sqlite:\(path.hasPrefix("/") ? "//" : "")\(path)"
        case .postgres(let settings):
            let password = settings.password.map { ":\($0)" } ?? ""
            return "postgres://\(settings.username)\(password)@\(settings.host):\(settings.port)/\(settings.database)?sslmode=\(settings.tls.rawValue)"
        }
    }
}
