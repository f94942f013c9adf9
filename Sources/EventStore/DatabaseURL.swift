import Foundation

/// Where the ledger keeps its events, parsed from `LEDGER_DATABASE_URL`.
///
/// - `sqlite:///absolute/path.sqlite`, `sqlite://relative/path.sqlite` or `sqlite:relative/path.sqlite`
/// - `postgres://user:password@host:5432/database?sslmode=disable|prefer|require` (`postgresql://` too)
public enum DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    /// Connection settings for PostgreSQL.
    public struct PostgresSettings: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        public var tls: TLSMode

        public init(host: String, port: Int = 5432, username: String, password: String?, database: String, tls: TLSMode = .prefer) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
        }
    }

    /// Whether to encrypt the connection to PostgreSQL.
    public enum TLSMode: String, Sendable, Hashable {
        case disable, prefer, require
    }

    /// Parses a database URL; the error says what is wrong and what is accepted.
    public init(parsing text: String) throws(EventStoreError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else {
                throw EventStoreError(.configuration, "the SQLite URL '\(text)' names no file; use sqlite:///absolute/path.sqlite or sqlite:relative/path.sqlite")
            }
            self = .sqlite(path: path)
            return
        }
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased() else {
            throw EventStoreError(.configuration, "the database URL '\(Self.redacted(text))' is not a URL; use sqlite:///path or postgres://user:password@host:port/database")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw EventStoreError(.configuration, "the database URL scheme '\(scheme)' is not supported; use sqlite:///path or postgres://user:password@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw EventStoreError(.configuration, "the PostgreSQL URL '\(Self.redacted(text))' has no host")
        }
        guard let username = components.user, !username.isEmpty else {
            throw EventStoreError(.configuration, "the PostgreSQL URL '\(Self.redacted(text))' has no user name")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw EventStoreError(.configuration, "the PostgreSQL URL '\(Self.redacted(text))' names no database (postgres://user@host:port/DATABASE)")
        }
        var tls = TLSMode.prefer
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            guard let parsed = TLSMode(rawValue: mode) else {
                throw EventStoreError(.configuration, "sslmode '\(mode)' is not supported; use disable, prefer or require")
            }
            tls = parsed
        }
        self = .postgres(PostgresSettings(
            host: host, port: components.port ?? 5432, username: username,
            password: components.password?.removingPercentEncoding ?? components.password,
            database: database, tls: tls
        ))
    }

    /// The URL with any password replaced by `***`, safe to log.
    public var description: String {
        switch self {
        case .sqlite(let path):
            return "sqlite:\(path.hasPrefix("/") ? "//" : "")\(path)"
        case .postgres(let settings):
            let password = settings.password == nil ? "" : ":***"
            return "postgres://\(settings.username)\(password)@\(settings.host):\(settings.port)/\(settings.database)"
        }
    }

    /// The text with any password hidden. Text that is not a URL may still hold one (`user:secret@host` with a
    /// typo elsewhere), so everything between `://` and the last `@` before the path is hidden too.
    private static func redacted(_ text: String) -> String {
        if var components = URLComponents(string: text) {
            guard components.password != nil else { return text }
            components.password = "***"
            return components.string ?? "(a URL with a password)"
        }
        guard let schemeEnd = text.range(of: "://") else { return text.contains("@") ? "(a URL with user details)" : text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        return String(text[..<schemeEnd.upperBound]) + "***" + String(rest[at...])
    }
}
