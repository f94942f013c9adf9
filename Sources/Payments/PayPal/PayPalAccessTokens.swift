import Foundation

/// An OAuth2 access token and when it was issued.
struct PayPalAccessToken: Sendable {
    var value: String
    var issuedAt: Date
    var expiresInSeconds: Int64

    /// Five minutes before expiry, or half the lifetime for short-lived tokens, so that a token never expires
    /// between being handed out and being used.
    var refreshAt: Date {
        let marginSeconds = min(PayPalAccessTokens.refreshMarginSecondsMax, expiresInSeconds / 2)
        return issuedAt.addingTimeInterval(TimeInterval(expiresInSeconds - marginSeconds))
    }
}

/// The current access token, shared by every copy of a ``PayPalClient``.
///
/// An actor so that concurrent callers that find the token missing or stale wait for one refresh instead of
/// each asking PayPal for a token of its own.
actor PayPalAccessTokens {
    static let refreshMarginSecondsMax: Int64 = 300

    private var current: PayPalAccessToken?
    private var refresh: Task<PayPalAccessToken, any Error>?

    /// The current token if it is fresh at `now`, else the result of one shared call to `fetch`.
    func token(
        now: @Sendable () -> Date,
        fetch: @escaping @Sendable () async throws(PaymentsError) -> PayPalAccessToken
    ) async throws(PaymentsError) -> String {
        if let current, now() < current.refreshAt {
            return current.value
        }
        let task: Task<PayPalAccessToken, any Error>
        if let refresh {
            task = refresh
        } else {
            task = Task { try await fetch() }
            refresh = task
        }
        do {
            let token = try await task.value
            if refresh == task {
                current = token
                refresh = nil
            }
            return token.value
        } catch {
            if refresh == task { refresh = nil }
            if let error = error as? PaymentsError { throw error }
            throw PaymentsError(.unavailable, "the access token could not be fetched: \(error)")
        }
    }

    /// Drops the current token, after PayPal refused it.
    func invalidate() {
        current = nil
    }
}
