import ArgumentParser
import Foundation
import LedgerService
#if canImport(Glibc)
import Glibc
#endif

/// `listing-ledger users add|list|reset-password|disable`: the people who sign in to the staff console.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Add, list, reset and disable staff console users.",
        discussion: """
            A password is read from standard input: at a terminal you are asked for it twice and it is not shown;
            otherwise the first line is the password (echo 'a long passphrase' | listing-ledger users add …).
            A password is 12 to 72 bytes (a plain letter, digit or sign is one byte, an accented or other letter two to four).
            """,
        subcommands: [Add.self, List.self, ResetPassword.self, Disable.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user who can sign in to the staff console.",
            discussion: "On a new install this is the first step: it creates the ledger if there is none yet, as `serve` would."
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "The person's name, as it appears in the ledger's history, e.g. 'Anna Berger'.") var name: String
        @Option(help: "The e-mail address they sign in with.") var email: String

        func run() async throws {
            try await reportingFailures {
                let password = try readPassword()
                try await withRuntime(common, mayCreate: true) { runtime in
                    let user = try await staffUserFailures { try await runtime.staffUsers.add(name: name, email: email, password: password) }
                    print("added \(user.email) (\(user.name)); they can sign in at /console")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users (never their passwords).")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    for user in try await runtime.staffUsers.list() {
                        let state = user.disabledAt.map { "disabled \($0.formatted(.iso8601))" } ?? "active"
                        print("\(user.email)\t\(user.name)\tadded \(user.createdAt.formatted(.iso8601))\t\(state)")
                    }
                }
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Set a new password, sign the user out everywhere, and enable them if they were disabled."
        )
        @OptionGroup var common: CommonOptions
        @Argument(help: "The user's e-mail address.") var email: String

        func run() async throws {
            try await reportingFailures {
                let password = try readPassword()
                try await withRuntime(common) { runtime in
                    try await staffUserFailures { try await runtime.staffUsers.resetPassword(email: email, password: password) }
                    print("set a new password for \(email.lowercased()); their open sessions have ended")
                }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a user from signing in and end their sessions.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The user's e-mail address.") var email: String

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    try await staffUserFailures { try await runtime.staffUsers.disable(email: email) }
                    print("disabled \(email.lowercased())")
                }
            }
        }
    }
}

/// A ``StaffUserError`` as the command's failure message.
private func staffUserFailures<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch let error as StaffUserError {
        throw Failure.failed(error.description)
    }
}

/// The password from standard input: asked twice, unshown, at a terminal; otherwise the first line.
private func readPassword() throws -> String {
    if isatty(STDIN_FILENO) == 1 {
        guard let first = getpass("Password (12 to 72 bytes): ").map({ String(cString: $0) }),
              let second = getpass("The same password again: ").map({ String(cString: $0) }) else {
            throw Failure.failed("no password was entered")
        }
        guard first == second else { throw Failure.failed("the two passwords differ; nothing was changed") }
        return first
    }
    guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
        throw Failure.failed("no password on standard input; pipe one in (echo 'a long passphrase' | listing-ledger users …) or run this at a terminal")
    }
    return line
}
