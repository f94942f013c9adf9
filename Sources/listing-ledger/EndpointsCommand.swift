import ArgumentParser
import Directory
import Foundation
import LedgerCore
import LedgerService

/// `listing-ledger endpoints add|list|disable|enable|rotate-secret|dead-letters|replay`: where visibility changes
/// are delivered, and the deliveries that gave up.
struct EndpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoints",
        abstract: "Manage the directory's webhook endpoints and replay dead letters.",
        subcommands: [Add.self, List.self, Disable.self, Enable.self, RotateSecret.self, DeadLetters.self, Replay.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an endpoint and print its signing secret once.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The URL deliveries are POSTed to.") var url: String
        @Option(name: .customLong("event-type"), help: "listing.visibility_changed or listing.renewal_reminder_due (repeatable; default both).")
        var eventTypes: [String] = []

        func run() async throws {
            try await reportingFailures {
                let types = try eventTypes.map { text in
                    guard let type = DirectoryEventType(rawValue: text) else {
                        throw Failure.usage("unknown event type '\(text)'; use \(DirectoryEventType.allCases.map(\.rawValue).joined(separator: " or "))")
                    }
                    return type
                }
                try await withRuntime(common) { runtime in
                    let (endpoint, secret) = try await failing { try await runtime.directoryEndpoints.add(url: url, eventTypes: types) }
                    print(secret)
                    printError("added endpoint \(endpoint.endpointId) for \(endpoint.url); the secret above is shown only this once")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List endpoints (never their secrets).")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    for endpoint in try await runtime.directoryEndpoints.list() {
                        let state = endpoint.enabled ? "enabled" : "disabled (\(endpoint.disabledReason ?? ""))"
                        print("\(endpoint.endpointId)\t\(endpoint.url)\t\(endpoint.eventTypes.map(\.rawValue).joined(separator: ","))\t\(state)\(endpoint.rotating ? "\trotating" : "")")
                    }
                }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop deliveries to an endpoint (they wait).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    try await failing { try await runtime.directoryEndpoints.disable(endpointID, reason: "disabled from the command line") }
                    print("disabled \(endpointID)")
                }
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume deliveries to an endpoint.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    try await failing { try await runtime.directoryEndpoints.enable(endpointID) }
                    print("enabled \(endpointID)")
                }
            }
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "Make a new signing secret and print it once; the old one keeps signing beside it for 24 hours.",
            discussion: "Another rotation within those 24 hours is refused: it would stop the old secret at once."
        )
        @OptionGroup var common: CommonOptions
        @Argument(help: "The endpoint id (ep_…).") var endpointID: String

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    let secret = try await failing { try await runtime.directoryEndpoints.rotateSecret(endpointID) }
                    print(secret)
                    printError("rotated the secret of \(endpointID); requests carry both signatures for 24 hours")
                }
            }
        }
    }

    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "dead-letters", abstract: "List every delivery that gave up.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    // Page by page, so that a long outage's thousands of dead letters are all listed.
                    var offset = 0
                    while true {
                        let page = try await runtime.directory.deliveries(status: "dead", endpointID: nil, limit: DirectoryQueries.pageSizeMax, offset: offset)
                        for row in page {
                            print("\(row.deliveryId)\t\(row.endpointId)\t\(row.eventType)\t\(row.profileId)\t\(row.attempts) attempts\t\(row.lastError ?? "")")
                        }
                        guard page.count == DirectoryQueries.pageSizeMax else { break }
                        offset += page.count
                    }
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send deliveries again: one dead letter, or every delivery of events recorded since an instant."
        )
        @OptionGroup var common: CommonOptions
        @Option(parsing: .unconditional, help: "A dead letter's delivery id.") var delivery: Int64?
        @Option(help: "An instant like 2026-01-31T12:00:00Z.") var since: String?

        func run() async throws {
            try await reportingFailures {
                let selection: DirectoryQueries.ReplaySelection
                switch (delivery, since) {
                case (let id?, nil): selection = .delivery(id)
                case (nil, let text?):
                    guard let instant = LedgerBounds.instant(parsing: text) else { throw Failure.usage("--since '\(text.prefix(40))' is not an instant like 2026-01-31T12:00:00Z \(LedgerBounds.dateRangeDescription)") }
                    selection = .since(instant)
                default: throw Failure.usage("give exactly one of --delivery and --since")
                }
                try await withRuntime(common) { runtime in
                    let count = try await runtime.directory.replay(selection)
                    if case .delivery(let id) = selection, count == 0 {
                        throw Failure.failed("delivery \(id) is not a dead letter (no such delivery, one still being delivered, or one sent again already); nothing was replayed")
                    }
                    print("replaying \(count) deliveries")
                }
            }
        }
    }
}

/// Runs `body`, turning an endpoint error into a failure message.
private func failing<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch let error as DirectoryEndpointError {
        throw Failure.failed(error.description)
    }
}
