import Foundation

/// Where the ledger keeps its events, parsed from `LEDGER_DATABASE_URL`.
///
/// - `sqlite:///absolute/path.sqlite`, `sqlite://relative/path.sqlite` or `sqlite:relative/path.sqlite`
/// - `postgres://user:password@host:5432/database?sslmode=disable|prefer|require` (`postgresql://` too)
/// - several hosts, tried in order: `postgres://user@host1:5432,host2:5432/database?target_session_attrs=read-write`
///   (with `read-write`, as in libpq, only a server that accepts writes is used)
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
        /// Further servers to try, in order, after `host`/`port` (a primary and its standbys).
        public var otherServers: [PostgresServer]
        /// Use only a server that accepts writes (`target_session_attrs=read-write`).
        public var requiresReadWrite: Bool

        public init(
            host: String, port: Int = 5432, username: String, password: String?, database: String, tls: TLSMode = .prefer,
            otherServers: [PostgresServer] = [], requiresReadWrite: Bool = false
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
            self.otherServers = otherServers
            self.requiresReadWrite = requiresReadWrite
        }

        /// Every server the URL names, in the order they are tried.
        public var servers: [PostgresServer] { [PostgresServer(host: host, port: port)] + otherServers }

        /// The same settings, aimed at `server` alone.
        public func aimed(at server: PostgresServer) -> PostgresSettings {
            var settings = self
            settings.host = server.host
            settings.port = server.port
            settings.otherServers = []
            return settings
        }
    }

    /// One PostgreSQL server of a URL.
    public struct PostgresServer: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { "\(host):\(port)" }
    }

    /// The most servers one URL may name.
    public static let postgresServersMax = 8

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
        // Several hosts (`host1:port1,host2:port2`) are not a URL's authority: parse the first as one, the rest here.
        var single = trimmed
        var otherServers: [PostgresServer] = []
        var firstHost: Substring?
        if let schemeEnd = trimmed.range(of: "://") {
            let rest = trimmed[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            let hostsStart = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
            let hosts = authority[hostsStart...].split(separator: ",", omittingEmptySubsequences: false)
            firstHost = hosts.first
            if hosts.count > 1 {
                guard hosts.count <= Self.postgresServersMax else {
                    throw EventStoreError(.configuration, "the PostgreSQL URL '\(Self.redacted(text))' names more than \(Self.postgresServersMax) hosts")
                }
                for entry in hosts.dropFirst() {
                    otherServers.append(try Self.server(String(entry), in: text))
                }
                single = String(trimmed[..<hostsStart]) + hosts[0] + String(rest[authorityEnd...])
            }
        }
        guard let components = URLComponents(string: single), let scheme = components.scheme?.lowercased() else {
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
        var requiresReadWrite = false
        if let attributes = components.queryItems?.first(where: { $0.name == "target_session_attrs" })?.value {
            switch attributes {
            case "any": requiresReadWrite = false
            case "read-write", "primary": requiresReadWrite = true
            default:
                throw EventStoreError(.configuration, "target_session_attrs '\(attributes)' is not supported; use read-write (or primary) or any")
            }
        }
        // The first host's port is checked as the others are: `URLComponents` takes 99999 (which the connection
        // would wrap round to another port) and reads a port past `Int`'s range as none (the default port).
        if let firstHost, let portText = Self.portText(of: firstHost), !portText.isEmpty {
            guard let port = Int(portText), (1...65_535).contains(port), port == components.port else {
                throw EventStoreError(.configuration, "the PostgreSQL URL '\(Self.redacted(text))' has a port that is not 1 to 65535 in '\(firstHost)'")
            }
        }
        self = .postgres(PostgresSettings(
            host: host, port: components.port ?? 5432, username: username,
            password: components.password?.removingPercentEncoding ?? components.password,
            database: database, tls: tls, otherServers: otherServers, requiresReadWrite: requiresReadWrite
        ))
    }

    /// The port written after a host (`host:port` or `[address]:port`), nil when none is written.
    private static func portText(of host: Substring) -> Substring? {
        var rest = host[...]
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            rest = rest[rest.index(after: close)...]
            return rest.first == ":" ? rest.dropFirst() : nil
        }
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        return rest[rest.index(after: colon)...]
    }

    /// One `host` or `host:port` of a list of hosts.
    private static func server(_ entry: String, in text: String) throws(EventStoreError) -> PostgresServer {
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
        let host = String(parts[0])
        guard !host.isEmpty, parts.count <= 2, host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) else {
            throw EventStoreError(.configuration, "the PostgreSQL URL '\(Self.redacted(text))' has a host list entry '\(entry)' that is not host or host:port")
        }
        guard parts.count == 2 else { return PostgresServer(host: host, port: 5432) }
        guard let port = Int(parts[1]), (1...65_535).contains(port) else {
            throw EventStoreError(.configuration, "the PostgreSQL URL '\(Self.redacted(text))' has a port that is not 1 to 65535 in '\(entry)'")
        }
        return PostgresServer(host: host, port: port)
    }

    /// The URL with any password replaced by `***`, safe to log.
    public var description: String {
        switch self {
        case .sqlite(let path):
            return "sqlite:\(path.hasPrefix("/") ? "//" : "")\(path)"
        case .postgres(let settings):
            let password = settings.password == nil ? "" : ":***"
            let hosts = settings.servers.map(\.description).joined(separator: ",")
            return "postgres://\(settings.username)\(password)@\(hosts)/\(settings.database)"
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
