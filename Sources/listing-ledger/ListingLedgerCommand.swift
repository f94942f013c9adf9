import ArgumentParser

/// `listing-ledger`: the service and its operations tools.
@main
struct ListingLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listing-ledger",
        abstract: "Records listing contributions in an event-sourced ledger and decides who is listed.",
        discussion: """
            Configuration comes from defaults < a JSON file (--config or LEDGER_CONFIG_FILE) < LEDGER_* \
            environment variables < command-line options. With none at all, `serve` runs a development \
            instance on SQLite in the data folder (LEDGER_DATA_DIR, else $XDG_DATA_HOME/listing-ledger, else \
            ~/.local/share/listing-ledger), wherever it is run from; only `serve`, `migrate`, `users add` and `bench` \
            create a ledger (give `bench` a --database-url of its own: it fills the ledger it opens with made-up data).

            Exit codes: 0 success, 1 failure, 64 usage error, 69 database unavailable, 78 configuration error.
            """,
        subcommands: [ServeCommand.self, MigrateCommand.self, RebuildCommand.self, KeysCommand.self, UsersCommand.self, PolicyCommand.self, EndpointsCommand.self, ImportStatementCommand.self, ExportCommand.self, BenchCommand.self]
    )
}
