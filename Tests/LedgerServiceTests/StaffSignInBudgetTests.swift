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

    /// Wrong passwords for one address sent all at once: each attempt is counted before its password is checked,
    /// so no more passwords are checked than one after the other would be (three, then the wait), however many
    /// arrive together. (Counted after the check, thirty at once were all checked.)
    @Test(arguments: Backend.allCases)
    func signInsSentAtOnceForOneAddressAreSlowedDownAsIfSentInTurn(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let checked = Mutex(0)
            let users = StaffUsers(store: store, now: { Date(timeIntervalSince1970: 1_800_000_000) }, cost: 4, passwordChecksPerMinute: 1_000) { _, _ in
                checked.withLock { $0 += 1 }
                Thread.sleep(forTimeInterval: 0.05)
                return false
            }
            let answers = try await withThrowingTaskGroup(of: StaffUserError.Code?.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        do {
                            _ = try await users.signIn(email: "anna@example.org", password: "guess guess guess")
                            return nil
                        } catch let error as StaffUserError {
                            return error.code
                        }
                    }
                }
                var codes: [StaffUserError.Code?] = []
                for try await code in group { codes.append(code) }
                return codes
            }
            #expect(checked.withLock { $0 } == StaffUsers.failuresBeforeSlowdown, "passwords checked")
            #expect(answers.filter { $0 == .wrongCredentials }.count == StaffUsers.failuresBeforeSlowdown)
            #expect(answers.filter { $0 == .tooManyAttempts }.count == 12 - StaffUsers.failuresBeforeSlowdown)
        }
    }

    /// An address's failed sign-ins are forgotten a day after its last one: the next failure anywhere deletes
    /// the older counts, so addresses made up by the thousand leave at most a day's failures in the database,
    /// and the address whose count was forgotten starts again at one.
    @Test(arguments: Backend.allCases)
    func failedSignInsAreForgottenADayAfterTheLast(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let clock = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
            // No address here has a user; each is checked against the decoy hash, which no guess matches.
            let users = StaffUsers(store: store, now: { clock.withLock { $0 } }, cost: 4, passwordChecksPerMinute: 1_000) { _, _ in false }
            func failures() async throws -> [String: Int64] {
                try await store.withReadModelConnection { connection in
                    var counts: [String: Int64] = [:]
                    for row in try await connection.query("SELECT email, failures FROM staff_sign_in_failures", []) {
                        counts[try row.text(0)] = try row.integer(1)
                    }
                    return counts
                }
            }
            func signIn(_ email: String) async throws -> StaffUserError.Code? {
                do {
                    _ = try await users.signIn(email: email, password: "guess guess guess")
                    return nil
                } catch let error as StaffUserError {
                    return error.code
                }
            }
            for _ in 0..<StaffUsers.failuresBeforeSlowdown {
                #expect(try await signIn("made-up@example.org") == .wrongCredentials)
            }
            #expect(try await signIn("made-up@example.org") == .tooManyAttempts, "slowed down within the day")
            let slowed = try await failures()
            #expect(slowed == ["made-up@example.org": Int64(StaffUsers.failuresBeforeSlowdown)])

            clock.withLock { $0 += StaffUsers.failuresForgottenAfter - 1 }
            #expect(try await signIn("other@example.org") == .wrongCredentials)
            let dayLess = try await failures()
            #expect(dayLess.count == 2, "a count younger than a day is kept")

            clock.withLock { $0 += 2 }
            #expect(try await signIn("another@example.org") == .wrongCredentials)
            let dayOld = try await failures()
            #expect(dayOld == ["other@example.org": 1, "another@example.org": 1], "the day-old count is deleted")
            // Had the count been kept, this would be its fourth failure in a row, slowed down; it is checked.
            #expect(try await signIn("made-up@example.org") == .wrongCredentials)
            let again = try await failures()
            #expect(again["made-up@example.org"] == 1)
        }
    }
}
