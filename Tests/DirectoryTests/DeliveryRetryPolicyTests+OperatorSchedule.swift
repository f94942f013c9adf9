import Directory
import Testing

// The pauses between attempts of a failed delivery to the directory on a schedule the operator sets
// (`LEDGER_DIRECTORY_RETRY_SECONDS`; how many pauses and how long each may be is the configuration's to check,
// in `LedgerConfigurationTests`): each pause in turn, a longer `Retry-After` stretching one up to 86400
// seconds, and a dead letter when the attempt after the last pause fails.
extension DeliveryRetryPolicyTests {
    /// Each pause is used once, in order; the attempt after the last one is the last: then a dead letter.
    @Test
    func anOperatorsPausesAreTakenInTurnAndTheAttemptAfterTheLastIsTheLast() {
        let policy = DeliveryRetryPolicy(pausesSeconds: [1, 2, 0])
        #expect(policy.attemptsMax == 4)
        #expect((1...4).map { policy.pauseSeconds(afterFailedAttempts: $0) } == [1, 2, 0, nil])

        let longest = DeliveryRetryPolicy(pausesSeconds: Array(repeating: 86_400, count: 20))
        #expect(longest.attemptsMax == 21)
        #expect(longest.pauseSeconds(afterFailedAttempts: 20) == 86_400)
        #expect(longest.pauseSeconds(afterFailedAttempts: 21) == nil)
    }

    /// A longer `Retry-After` stretches any pause (one of 0 too) up to 86400 seconds; a shorter one never
    /// shortens it, and none revives a dead letter.
    @Test
    func retryAfterStretchesAnOperatorsPauseUpToADay() {
        let policy = DeliveryRetryPolicy(pausesSeconds: [0, 60])
        #expect(policy.pauseSeconds(afterFailedAttempts: 1, retryAfterSeconds: 30) == 30)
        #expect(policy.pauseSeconds(afterFailedAttempts: 2, retryAfterSeconds: 30) == 60)
        #expect(policy.pauseSeconds(afterFailedAttempts: 2, retryAfterSeconds: 86_400) == 86_400)
        #expect(policy.pauseSeconds(afterFailedAttempts: 2, retryAfterSeconds: 86_401) == 86_400)
        #expect(policy.pauseSeconds(afterFailedAttempts: 1, retryAfterSeconds: 10_000_000) == 86_400)
        #expect(policy.pauseSeconds(afterFailedAttempts: 3, retryAfterSeconds: 30) == nil)
    }
}
