import EventStore
import Foundation
import LedgerService
import Synchronization
import TestSupport
import Testing

@Suite("Staff sign-in: the password checks a flood can ask for")
struct StaffSignInBudgetTests {
    /// Sign-ins naming made-up addresses, one after another: past the minute's password checks each is refused
    /// at once, naming the wait and checking no password, and so is the real user; once the minute has passed
    /// the real user signs in.
    @Test
    func aFloodOfSignInsCostsAtMostTheMinutesPasswordChecks() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            let clock = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
            let checked = Mutex(0)
            let users = StaffUsers(store: store, now: { clock.withLock { $0 } }, cost: 4, passwordChecksPerMinute: 3) { password, hash in
                checked.withLock { $0 += 1 }
                return StaffUsers.bcryptCheck(password, hash)
            }
            _ = try await users.add(name: "Anna", email: "anna@example.org", password: "a long enough password")
            for index in 0..<3 {
                do {
                    _ = try await users.signIn(email: "nobody-\(index)@example.org", password: "guess guess guess")
                    Issue.record("a made-up address signed in")
                } catch let error as StaffUserError {
                    #expect(error.code == .wrongCredentials, "\(error)")
                }
                clock.withLock { $0 += 10 }
            }
            for email in ["nobody-3@example.org", "anna@example.org"] {
                do {
                    _ = try await users.signIn(email: email, password: "a long enough password")
                    Issue.record("\(email) was checked past the minute's budget")
                } catch let error as StaffUserError {
                    #expect(error.code == .tooManyAttempts && error.retryAfterSeconds == 30, "\(error)")
                    #expect(error.description.contains("Please wait 30 seconds"), "\(error)")
                }
            }
            #expect(checked.withLock { $0 } == 3, "the refused sign-ins checked no password")
            clock.withLock { $0 += 31 }
            #expect(try await users.signIn(email: "anna@example.org", password: "a long enough password").session.user.name == "Anna")
            #expect(checked.withLock { $0 } == 4)
        }
    }
}
