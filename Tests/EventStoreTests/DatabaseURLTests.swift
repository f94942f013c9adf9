import EventStore
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

    @Test(arguments: [
        "mysql://root@localhost/ledger", "postgres://localhost/ledger", "postgres://user@/ledger",
        "postgres://user@localhost", "postgres://user@localhost/db?sslmode=sometimes", "not a url",
    ])
    func unsupportedOrIncompleteURLsAreConfigurationErrors(text: String) {
        #expect(throws: EventStoreError(.configuration, "")) { try DatabaseURL(parsing: text) }
    }
}
