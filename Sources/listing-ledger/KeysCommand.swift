import ArgumentParser
import Foundation
import LedgerService

/// `listing-ledger keys create|list|revoke`: API keys for the website, staff tools and the directory.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it once.")
        @OptionGroup var common: CommonOptions
        @Option(help: "staff, website or directory.") var role: String
        @Option(help: "Who or what will use the key, e.g. 'website' or 'Anna (staff)'.") var name: String

        func run() async throws {
            try await reportingFailures {
                guard let role = APIRole(rawValue: role) else {
                    throw Failure.usage("unknown role '\(role)'; use staff, website or directory")
                }
                try await withRuntime(common) { runtime in
                    let keys = runtime.apiKeys
                    let created: CreatedAPIKey
                    do {
                        created = try await keys.create(name: name, role: role)
                    } catch let error as APIKeyError {
                        throw Failure.failed(error.description)
                    }
                    print(created.key)
                    printError("created \(role.rawValue) key \(created.record.keyID) for '\(created.record.name)'; it is shown only this once")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    let keys = runtime.apiKeys
                    for key in try await keys.list() {
                        let state = key.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "active"
                        print("\(key.keyID)\t\(key.role.rawValue)\t\(key.name)\tcreated \(key.createdAt.formatted(.iso8601))\t\(state)")
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key at once.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The key id (second part of llk_<key id>_<secret>).") var keyID: String

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    let keys = runtime.apiKeys
                    guard try await keys.revoke(keyID: keyID) else {
                        throw Failure.failed("no key with id '\(keyID)'")
                    }
                    print("revoked \(keyID)")
                }
            }
        }
    }
}
