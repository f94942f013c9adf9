import EventStore
import Foundation
import Testing

@Suite("Database URLs")
struct DatabaseURLTests {
    @Test
    func sqliteURLsNameAFile() throws {
        #expect(try DatabaseURL(parsing: "sqlite:///var/lib/ledger.sqlite") == .sqlite(path: "/var/lib/ledger.sqlite"))
        #expect(try DatabaseURL(parsing: "sqlite:var/ledger.sqlite") == .sqlite(path: "var/ledger.sqlite"))
        #expect(throws: EventStoreError(.configuration, "")) { try DatabaseURL(parsing: "sqlite://") }
    }

    @Test
    func postgresURLsCarryEverySetting() throws {
        let url = try DatabaseURL(parsing: "postgres://ledger:s%40cret@db.internal:6543/books?sslmode=require")
        #expect(url == .postgres(.init(host: "db.internal", port: 6543, username: "ledger", password: "s@cret", database: "books", tls: .require)))
        #expect(url.description == "postgres://ledger:***@db.internal:6543/books")
    }

    @Test
    func severalHostsAreTriedInOrderAndReadWriteMeansOnlyAPrimary() throws {
        let url = try DatabaseURL(
            parsing: "postgres://ledger:secret@127.0.0.1:5433,127.0.0.1:5434,standby.internal/ledger?target_session_attrs=read-write&sslmode=disable"
        )
        guard case .postgres(let settings) = url else {
            Issue.record("not a PostgreSQL URL: \(url)")
            return
        }
        #expect(settings.servers == [
            .init(host: "127.0.0.1", port: 5433), .init(host: "127.0.0.1", port: 5434), .init(host: "standby.internal", port: 5432),
        ])
        #expect(settings.requiresReadWrite && settings.password == "secret" && settings.database == "ledger" && settings.tls == .disable)
        #expect(url.description == "postgres://ledger:***@127.0.0.1:5433,127.0.0.1:5434,standby.internal:5432/ledger")
        #expect(settings.aimed(at: settings.servers[1]).servers == [.init(host: "127.0.0.1", port: 5434)])
        guard case .postgres(let any) = try DatabaseURL(parsing: "postgres://u@a:1,b:2/d?target_session_attrs=any") else { return }
        #expect(!any.requiresReadWrite && any.servers.count == 2)
        guard case .postgres(let one) = try DatabaseURL(parsing: "postgres://u@a:1/d") else { return }
        #expect(!one.requiresReadWrite && one.servers == [.init(host: "a", port: 1)])
    }

    /// Every port from 1 to 65535 is taken on the first host too, after a name or an IPv6 address; none written
    /// (or an empty one) is PostgreSQL's 5432.
    @Test
    func theFirstHostsPortIsTakenAsWritten() throws {
        for (text, host, port) in [
            ("postgres://u@h:1/d", "h", 1), ("postgres://u@h:65535/d", "h", 65_535), ("postgres://u@[::1]:6543/d", "::1", 6_543),
            ("postgres://u@h/d", "h", 5_432), ("postgres://u@h:/d", "h", 5_432), ("postgres://u@[::1]/d", "::1", 5_432),
        ] {
            guard case .postgres(let settings) = try DatabaseURL(parsing: text) else {
                Issue.record("\(text) is not read as PostgreSQL")
                continue
            }
            #expect(settings.servers.first?.port == port && settings.host.trimmingCharacters(in: ["[", "]"]) == host, "\(text): \(settings.servers)")
        }
    }

    @Test(arguments: [
        "mysql://root@localhost/ledger", "postgres://localhost/ledger", "postgres://user@/ledger",
        "postgres://user@localhost", "postgres://user@localhost/db?sslmode=sometimes", "not a url",
        "postgres://u@a:1,/d", "postgres://u@a:1,b:0/d", "postgres://u@a:1,b:99999/d", "postgres://u@a,b:x/d",
        "postgres://u@a,b c/d", "postgres://u@a/d?target_session_attrs=standby",
        "postgres://u@h1,h2,h3,h4,h5,h6,h7,h8,h9/d",
        // The first host's port, as the others': out of range, past Int's range, out of range before a list.
        "postgres://u@h:99999/d", "postgres://u@h:0/d", "postgres://u:p@h:99999999999999999999/d", "postgres://u@a:70000,b:1/d",
        "postgres://u@[::1]:65536/d",
    ])
    func unsupportedOrIncompleteURLsAreConfigurationErrors(text: String) {
        #expect(throws: EventStoreError(.configuration, "")) { try DatabaseURL(parsing: text) }
    }
}
