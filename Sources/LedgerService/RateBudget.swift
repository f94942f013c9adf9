import Foundation
import Synchronization

/// At most `max` uses in any `windowSeconds`: for work that anyone can ask for and that costs far more than the
/// asking (a password check), so a flood of requests costs a bounded amount of it.
final class RateBudget: Sendable {
    let max: Int
    let windowSeconds: Int64
    /// When the uses in the window were taken, oldest first.
    private let uses = Mutex<[Date]>([])

    init(max: Int, windowSeconds: Int64) {
        precondition(max > 0 && windowSeconds > 0)
        self.max = max
        self.windowSeconds = windowSeconds
    }

    /// Takes one use at `now` and returns nil; or, when the window before `now` already holds `max` uses, takes
    /// none and returns the whole seconds until the oldest leaves it (at least 1).
    ///
    /// Callers that read their clock before waiting may arrive out of order: a use is counted at the latest
    /// instant counted so far if that is later, so an early arrival never ends, or frees, a later one's place.
    func take(at now: Date) -> Int? {
        uses.withLock { uses in
            let start = now - TimeInterval(windowSeconds)
            uses.removeAll { $0 <= start }
            if uses.count >= max, let oldest = uses.first {
                return Swift.max(1, Int((oldest.timeIntervalSince(start)).rounded(.up)))
            }
            uses.append(Swift.max(now, uses.last ?? now))
            return nil
        }
    }
}
