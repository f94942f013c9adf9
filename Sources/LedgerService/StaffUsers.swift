public import EventStore
public import Foundation
import Crypto
import HummingbirdBcrypt
import NIOPosix

/// A person who signs in to the staff console.
public struct StaffUser: Sendable, Hashable {
    public var userID: String
    public var email: String
    public var name: String
    public var createdAt: Date
    public var disabledAt: Date?

    /// How the person appears in event metadata, like `staff:<key name>` for API keys.
    public var actor: String { "user:\(name) <\(email)>" }
}

/// A signed-in browser: who, until when, and the token its forms must carry.
public struct StaffSession: Sendable, Hashable {
    public var user: StaffUser
    public var formToken: String
    public var expiresAt: Date
}

/// A request about staff users or a sign-in that cannot be carried out; the message is for the person.
public struct StaffUserError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case invalid, duplicate, notFound, wrongCredentials, tooManyAttempts
    }
    public let code: Code
    public let description: String
    /// For `tooManyAttempts`: how long to wait.
    public var retryAfterSeconds: Int = 0

    public init(_ code: Code, _ description: String, retryAfterSeconds: Int = 0) {
        self.code = code
        self.description = description
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// Staff users, their passwords (bcrypt) and their console sessions.
///
/// - A session lasts ``sessionLifetime`` from sign-in; signing out, a password reset or disabling the user ends
///   it at once.
/// - After ``failuresBeforeSlowdown`` failed sign-ins for one address, the next attempt must wait 2, 4, 8 …
///   seconds (at most ``slowdownMaxSeconds``) after the last failure; a successful sign-in clears the count,
///   and so does ``failuresForgottenAfter`` without a failure for the address. The count is in the database,
///   so a restart or a second instance does not reset it.
public struct StaffUsers: Sendable {
    public let store: any EventStore
    private let now: @Sendable () -> Date
    /// bcrypt's cost (log2 of the rounds).
    private let cost: UInt8
    /// The password checks sign-ins may make, whatever the address: each costs about a quarter of a second of
    /// a core, and anyone can ask for one.
    private let checks: RateBudget
    /// Checks a password against a bcrypt hash: ``bcryptCheck`` unless given another (a test counting them).
    private let checkPassword: @Sendable (_ password: String, _ hash: String) -> Bool

    /// Bcrypt's check of a password against a hash.
    public static let bcryptCheck: @Sendable (_ password: String, _ hash: String) -> Bool = { Bcrypt.verify($0, hash: $1) }

    public static let sessionLifetime: TimeInterval = 12 * 3600
    public static let failuresBeforeSlowdown = 3
    public static let slowdownMaxSeconds = 300
    /// How long an address's failed sign-ins are remembered after its last one. Every sign-in attempt deletes the
    /// counts older than this, so addresses made up by the thousand do not fill the database: at most a day's
    /// password checks are kept.
    public static let failuresForgottenAfter: TimeInterval = 24 * 3600
    public static let passwordBytesMin = 12
    /// bcrypt reads at most 72 bytes; a longer password would be cut without the person knowing.
    public static let passwordBytesMax = 72
    public static let nameBytesMax = 100
    public static let emailBytesMax = 254
    /// The most password checks sign-ins make in any minute, whatever the addresses. One person signing in
    /// never comes near it; a flood of sign-ins naming made-up addresses costs at most this many checks (about
    /// 8 s of a core a minute), not one each, so the payments keep their CPU.
    public static let passwordChecksPerMinuteDefault = 30

    public init(
        store: any EventStore, now: @escaping @Sendable () -> Date = { Date() }, cost: UInt8 = 12,
        passwordChecksPerMinute: Int = Self.passwordChecksPerMinuteDefault,
        checkPassword: @escaping @Sendable (_ password: String, _ hash: String) -> Bool = StaffUsers.bcryptCheck
    ) {
        self.checkPassword = checkPassword
        self.store = store
        self.now = now
        self.cost = cost
        self.checks = RateBudget(max: Swift.max(1, passwordChecksPerMinute), windowSeconds: 60)
    }

    // MARK: Users

    /// Adds a user; the e-mail address is their sign-in name and must be new.
    public func add(name: String, email: String, password: String) async throws -> StaffUser {
        let name = try Self.validName(name)
        let email = try Self.validEmail(email)
        let hash = try await hash(try Self.validPassword(password))
        let user = StaffUser(userID: UUID().uuidString.lowercased(), email: email, name: name, createdAt: now(), disabledAt: nil)
        let at = APIKeyStore.micros(user.createdAt)
        try await store.withReadModelTransaction { connection in
            guard try await connection.query("SELECT 1 FROM staff_users WHERE email = ?", [.text(email)]).isEmpty else {
                throw StaffUserError(.duplicate, "there is already a user with the e-mail address \(email)")
            }
            try await connection.execute(
                """
                INSERT INTO staff_users (user_id, email, name, password_hash, created_at_micros, password_changed_at_micros)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [.text(user.userID), .text(email), .text(name), .text(hash), .integer(at), .integer(at)]
            )
        }
        return user
    }

    /// Every user, by e-mail address.
    public func list() async throws -> [StaffUser] {
        try await store.withReadModelConnection { connection in
            try await connection.query(
                "SELECT user_id, email, name, created_at_micros, disabled_at_micros FROM staff_users ORDER BY email", []
            ).map(Self.user)
        }
    }

    /// Sets a new password and signs the user out everywhere; also enables a disabled user.
    public func resetPassword(email: String, password: String) async throws {
        let email = try Self.validEmail(email)
        let hash = try await hash(try Self.validPassword(password))
        let at = APIKeyStore.micros(now())
        try await store.withReadModelTransaction { connection in
            let rows = try await connection.query("SELECT user_id FROM staff_users WHERE email = ?", [.text(email)])
            guard let userID = try rows.first?.text(0) else { throw StaffUserError(.notFound, "there is no user with the e-mail address \(email)") }
            try await connection.execute(
                "UPDATE staff_users SET password_hash = ?, password_changed_at_micros = ?, disabled_at_micros = NULL WHERE user_id = ?",
                [.text(hash), .integer(at), .text(userID)]
            )
            try await connection.execute("DELETE FROM staff_sessions WHERE user_id = ?", [.text(userID)])
            try await connection.execute("DELETE FROM staff_sign_in_failures WHERE email = ?", [.text(email)])
        }
    }

    /// Stops a user from signing in and ends their sessions. Their past actions keep their name.
    public func disable(email: String) async throws {
        let email = try Self.validEmail(email)
        let at = APIKeyStore.micros(now())
        try await store.withReadModelTransaction { connection in
            let rows = try await connection.query("SELECT user_id FROM staff_users WHERE email = ?", [.text(email)])
            guard let userID = try rows.first?.text(0) else { throw StaffUserError(.notFound, "there is no user with the e-mail address \(email)") }
            try await connection.execute(
                "UPDATE staff_users SET disabled_at_micros = COALESCE(disabled_at_micros, ?) WHERE user_id = ?", [.integer(at), .text(userID)]
            )
            try await connection.execute("DELETE FROM staff_sessions WHERE user_id = ?", [.text(userID)])
        }
    }

    // MARK: Sessions

    /// Checks the password and opens a session; returns the cookie's token (shown to the browser only) and
    /// the session. Wrong address and wrong password fail alike.
    public func signIn(email: String, password: String) async throws -> (token: String, session: StaffSession) {
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let wrong = StaffUserError(.wrongCredentials, "The e-mail address or the password is not right.")
        guard email.utf8.count <= Self.emailBytesMax, password.utf8.count <= Self.passwordBytesMax * 4 else { throw wrong }
        let instant = now()
        let failures = try await store.withReadModelConnection { connection in
            try await connection.query(
                "SELECT failures, last_failure_micros FROM staff_sign_in_failures WHERE email = ? AND last_failure_micros >= ?",
                [.text(email), .integer(APIKeyStore.micros(instant.addingTimeInterval(-Self.failuresForgottenAfter)))]
            ).first.map { (count: try $0.integer(0), last: APIKeyStore.date(micros: try $0.integer(1))) }
        }
        // A wait already due is told at once, without taking a password check from the minute's budget.
        if let failures, let remaining = Self.waitLeft(failures: failures.count, last: failures.last, at: instant) {
            throw Self.slowedDown(remaining)
        }
        // Taken at the clock's reading now, after the queries above.
        if let wait = checks.take(at: now()) {
            throw StaffUserError(
                .tooManyAttempts, "Many sign-ins are being tried right now. Please wait \(wait) second\(wait == 1 ? "" : "s") and try again.", retryAfterSeconds: wait
            )
        }
        // The attempt is counted as a failure before its password is checked, in one transaction with the check of
        // the count: sign-ins sent at once for one address each find the ones before them counted, so no more of
        // them are checked than the slowdown lets through one after the other. A right password clears the count.
        if let remaining = try await reserveAttempt(email: email, at: instant) { throw Self.slowedDown(remaining) }
        let row = try await store.withReadModelConnection { connection in
            try await connection.query(
                "SELECT user_id, email, name, created_at_micros, disabled_at_micros, password_hash FROM staff_users WHERE email = ?", [.text(email)]
            ).first
        }
        // An unknown address is hashed against a fixed hash too, so it takes as long as a wrong password.
        let storedHash = try row.map { try $0.text(5) } ?? Self.decoyHash
        let matches = try await verify(password, hash: storedHash)
        guard let row, matches, try row.optionalInteger(4) == nil else { throw wrong }
        let user = try Self.user(row)
        let token = APIKeyStore.randomToken(bytes: 32)
        let session = StaffSession(user: user, formToken: APIKeyStore.randomToken(bytes: 32), expiresAt: instant.addingTimeInterval(Self.sessionLifetime))
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                "INSERT INTO staff_sessions (token_hash, user_id, form_token, created_at_micros, expires_at_micros) VALUES (?, ?, ?, ?, ?)",
                [.blob(Self.tokenHash(token)), .text(user.userID), .text(session.formToken), .integer(APIKeyStore.micros(instant)),
                 .integer(APIKeyStore.micros(session.expiresAt))]
            )
            try await connection.execute("DELETE FROM staff_sign_in_failures WHERE email = ?", [.text(email)])
            // Expired sessions go when anyone signs in.
            try await connection.execute("DELETE FROM staff_sessions WHERE expires_at_micros <= ?", [.integer(APIKeyStore.micros(instant))])
        }
        return (token, session)
    }

    /// The session a cookie's token opens, or nil if it is unknown, expired or its user is disabled.
    public func session(token: String) async throws -> StaffSession? {
        guard !token.isEmpty, token.utf8.count <= 128 else { return nil }
        let instant = APIKeyStore.micros(now())
        let row = try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT u.user_id, u.email, u.name, u.created_at_micros, u.disabled_at_micros, s.form_token, s.expires_at_micros
                FROM staff_sessions s JOIN staff_users u ON u.user_id = s.user_id
                WHERE s.token_hash = ? AND s.expires_at_micros > ? AND u.disabled_at_micros IS NULL
                """,
                [.blob(Self.tokenHash(token)), .integer(instant)]
            ).first
        }
        guard let row else { return nil }
        return StaffSession(user: try Self.user(row), formToken: try row.text(5), expiresAt: APIKeyStore.date(micros: try row.integer(6)))
    }

    /// Ends the session the token opens; ending an unknown one changes nothing.
    public func signOut(token: String) async throws {
        try await store.withReadModelTransaction { connection in
            try await connection.execute("DELETE FROM staff_sessions WHERE token_hash = ?", [.blob(Self.tokenHash(token))])
        }
    }

    // MARK: Rules

    /// Seconds to wait after the last failure once `failures` have happened in a row.
    public static func slowdown(afterFailures failures: Int) -> Int {
        let doublings = min(max(0, failures - failuresBeforeSlowdown + 1), 20)
        return min(1 << doublings, slowdownMaxSeconds)
    }

    static func validName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= nameBytesMax, !hasControl(trimmed), !trimmed.contains("<"), !trimmed.contains(">") else {
            throw StaffUserError(.invalid, "a name is 1 to \(nameBytesMax) characters of plain text, without < or >")
        }
        return trimmed
    }

    static func validEmail(_ email: String) throws -> String {
        let trimmed = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.utf8.count <= emailBytesMax, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !trimmed.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" }), !hasControl(trimmed) else {
            throw StaffUserError(.invalid, "'\(trimmed.prefix(60))' is not an e-mail address like anna@example.org")
        }
        return trimmed
    }

    static func validPassword(_ password: String) throws -> String {
        guard (passwordBytesMin...passwordBytesMax).contains(password.utf8.count), !hasControl(password) else {
            throw StaffUserError(.invalid, "a password is \(passwordBytesMin) to \(passwordBytesMax) bytes (a plain letter, digit or sign is one byte, an accented or other letter two to four), without control characters")
        }
        return password
    }

    static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { (0x00...0x1F).contains($0.value) || (0x7F...0x9F).contains($0.value) }
    }

    private static func user(_ row: SQLRow) throws -> StaffUser {
        StaffUser(
            userID: try row.text(0), email: try row.text(1), name: try row.text(2), createdAt: APIKeyStore.date(micros: try row.integer(3)),
            disabledAt: try row.optionalInteger(4).map(APIKeyStore.date(micros:))
        )
    }

    static func tokenHash(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    /// A bcrypt hash of a random password no one knows, for addresses that have no user.
    private static let decoyHash = Bcrypt.hash(APIKeyStore.randomToken(bytes: 16), cost: 12)

    /// The seconds an address with `failures` failed sign-ins, the last at `last`, must still wait at `instant`;
    /// nil when it may try.
    private static func waitLeft(failures: Int64, last: Date, at instant: Date) -> Int? {
        guard failures >= failuresBeforeSlowdown else { return nil }
        let remaining = Int((last.addingTimeInterval(TimeInterval(slowdown(afterFailures: Int(failures)))).timeIntervalSince(instant)).rounded(.up))
        return remaining > 0 ? remaining : nil
    }

    private static func slowedDown(_ remaining: Int) -> StaffUserError {
        StaffUserError(
            .tooManyAttempts, "There were too many failed sign-ins for this address. Please wait \(remaining) second\(remaining == 1 ? "" : "s") and try again.",
            retryAfterSeconds: remaining
        )
    }

    /// Counts a sign-in attempt for `email` as a failure, unless the address must wait: then nothing is counted
    /// and the seconds left are returned. The address's row is made first and then read locked (on SQLite the
    /// write transaction is the lock), so attempts at once take turns, each seeing the ones before it.
    private func reserveAttempt(email: String, at instant: Date) async throws -> Int? {
        let micros = APIKeyStore.micros(instant)
        let forgotten = APIKeyStore.micros(instant.addingTimeInterval(-Self.failuresForgottenAfter))
        return try await store.withReadModelTransaction { connection in
            // This address's count too, if its last failure is that old: it starts again at one.
            try await connection.execute("DELETE FROM staff_sign_in_failures WHERE last_failure_micros < ?", [.integer(forgotten)])
            try await connection.execute(
                "INSERT INTO staff_sign_in_failures (email, failures, last_failure_micros) VALUES (?, 0, ?) ON CONFLICT (email) DO NOTHING",
                [.text(email), .integer(micros)]
            )
            let lock = connection.dialect == .postgres ? " FOR UPDATE" : ""
            guard let row = try await connection.query(
                "SELECT failures, last_failure_micros FROM staff_sign_in_failures WHERE email = ?\(lock)", [.text(email)]
            ).first else { throw EventStoreError(.unexpectedRow, "the sign-in count of an address vanished inside its transaction") }
            if let remaining = Self.waitLeft(failures: try row.integer(0), last: APIKeyStore.date(micros: try row.integer(1)), at: instant) {
                return remaining
            }
            try await connection.execute(
                "UPDATE staff_sign_in_failures SET failures = failures + 1, last_failure_micros = ? WHERE email = ?", [.integer(micros), .text(email)]
            )
            return nil
        }
    }

    // bcrypt is slow on purpose: it runs on NIO's thread pool, not on a task executor.
    private func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    private func verify(_ password: String, hash: String) async throws -> Bool {
        let check = checkPassword
        return try await NIOThreadPool.singleton.runIfActive { check(password, hash) }
    }
}
