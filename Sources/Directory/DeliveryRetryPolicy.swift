/// When a failed delivery is tried again: immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
/// 10 h; after the eighth failed attempt the delivery is dead-lettered for staff to replay.
public struct DeliveryRetryPolicy: Sendable, Hashable {
    /// Pause before attempt `n + 2`, after `n + 1` failures.
    public var pausesSeconds: [Int64]
    /// The longest `Retry-After` honoured, so a receiver cannot park a delivery for ever.
    public var retryAfterSecondsMax: Int64

    public init(pausesSeconds: [Int64] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000], retryAfterSecondsMax: Int64 = 86_400) {
        precondition(pausesSeconds.allSatisfy { $0 >= 0 } && retryAfterSecondsMax >= 0)
        self.pausesSeconds = pausesSeconds
        self.retryAfterSecondsMax = retryAfterSecondsMax
    }

    /// The standard schedule.
    public static let standard = DeliveryRetryPolicy()

    /// Attempts in all before a delivery is dead: the first, plus one per pause.
    public var attemptsMax: Int { pausesSeconds.count + 1 }

    /// After `failedAttempts` failures (at least 1): the pause before the next attempt, or nil when the
    /// delivery is dead. A receiver's `Retry-After` replaces the pause when longer, up to the cap.
    public func pauseSeconds(afterFailedAttempts failedAttempts: Int, retryAfterSeconds: Int64? = nil) -> Int64? {
        precondition(failedAttempts >= 1)
        guard failedAttempts < attemptsMax else { return nil }
        let scheduled = pausesSeconds[failedAttempts - 1]
        guard let retryAfterSeconds else { return scheduled }
        return max(scheduled, min(retryAfterSeconds, retryAfterSecondsMax))
    }
}
