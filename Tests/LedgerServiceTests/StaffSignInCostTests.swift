import EventStore
import Foundation
import LedgerService
import Synchronization
import TestSupport
import Testing

@Suite("Staff sign-in: what made-up addresses cost")
struct StaffSignInCostTests {
    /// Sign-ins naming addresses that have no user check no password (anyone can name new ones, and a check
    /// costs a quarter of a second of a core); they fail as a wrong password does, and their failures count
    /// alike, so a made-up address is slowed down as a real one is. A real user's sign-ins are checked.
    @Test
    func signInsNamingMadeUpAddressesCheckNoPassword() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            let clock = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
            let checks = Mutex(0)
            let users = StaffUsers(store: store, now: { clock.withLock { $0 } }, cost: 4) { password, hash in
                checks.withLock { $0 += 1 }
                return StaffUsers.bcryptCheck(password, hash)
            }
            _ = try await users.add(name: "Anna", email: "anna@example.org", password: "a long enough password")
            func signIn(_ email: String, _ password: String) async -> StaffUserError? {
                do {
                    _ = try await users.signIn(email: email, password: password)
                    return nil
                } catch {
                    return error as? StaffUserError
                }
            }
            for index in 0..<20 {
                #expect(await signIn("nobody-\(index)@example.org", "guess guess guess")?.code == .wrongCredentials)
            }
            // One check, once, to learn how long a check takes; none for the other nineteen.
            #expect(checks.withLock { $0 } == 1)
            // Counted as any address: the fourth failure in a row is slowed down.
            for _ in 0..<3 { #expect(await signIn("nobody-x@example.org", "guess guess guess")?.code == .wrongCredentials) }
            let slowed = await signIn("nobody-x@example.org", "guess guess guess")
            #expect(slowed?.code == .tooManyAttempts && slowed?.description.contains("Please wait 2 seconds") == true, "\(String(describing: slowed))")
            #expect(checks.withLock { $0 } == 1)
            // The real user's passwords are checked, wrong and right.
            #expect(await signIn("anna@example.org", "not the password at all")?.code == .wrongCredentials)
            #expect(await signIn("anna@example.org", "a long enough password") == nil)
            #expect(checks.withLock { $0 } == 3)
        }
    }
}
