/// How a subscriber waits between passes over the log without missing an append, and without waiting for its
/// poll interval when a wake-up came before the events it announced were visible.
///
/// On PostgreSQL an append is visible to readers only once every transaction that began before it has ended
/// (so that the global order has no gaps), while its wake-up is sent when it commits. A pass that follows a
/// wake-up can therefore find nothing new, and no further wake-up may come for the event once it becomes
/// visible. So after a wake-up, or after a pass that found work, an idle subscriber looks again a few times
/// shortly after (``followUpDelays``, about a second in all) before sleeping until the next append.
///
/// After a pass that found work, the next pass waits for ``gatheringPause`` so that appends gather. A pass costs a
/// write transaction of its own, on the store's one writer (SQLite) or one of the few connections the appends
/// also need (PostgreSQL), and most of its cost is the same for a few events as for hundreds: loading each read
/// model's states, writing each table, the checkpoints, the commit. Under a steady stream of appends a pass
/// straight after the last one found a handful of events, and the read models held the SQLite writer three
/// quarters of the time, with the appends waiting behind them. The first event after a quiet spell is still
/// taken at once; the pause only delays the ones that follow it.
public struct AppendFollower: Sendable {
    /// The pauses before each look after a wake-up or a pass with work.
    public static let followUpDelays: [Duration] = [5, 10, 25, 50, 100, 250, 500].map { .milliseconds($0) }
    /// How long appends gather after a pass that found work, unless a follower is given another pause.
    public static let gatheringPauseDefault: Duration = .milliseconds(50)

    let store: any EventStore
    let gatheringPause: Duration
    var generation: UInt64
    var followUpsDone: Int

    /// A follower that starts by sleeping until the first append after now.
    public init(store: any EventStore, gatheringPause: Duration = Self.gatheringPauseDefault) {
        self.store = store
        self.gatheringPause = gatheringPause
        self.generation = store.appendGeneration
        self.followUpsDone = Self.followUpDelays.count
    }

    /// Call when a pass found work, before the next pass: appends from now on wake the next wait, and the next
    /// pass starts once ``gatheringPause`` is over (at once if the task is cancelled).
    public mutating func foundWork() async {
        generation = store.appendGeneration
        followUpsDone = 0
        if gatheringPause > .zero { try? await Task.sleep(for: gatheringPause) }
    }

    /// Waits before the next pass after one that found nothing: a short follow-up while the last wake-up or
    /// work is recent, else until the next append or `timeout`.
    public mutating func idle(timeout: Duration) async {
        if followUpsDone < Self.followUpDelays.count {
            let delay = Self.followUpDelays[followUpsDone]
            followUpsDone += 1
            try? await Task.sleep(for: min(delay, timeout))
            return
        }
        let next = await store.waitForAppends(since: generation, timeout: timeout)
        if next != generation { followUpsDone = 0 }
        generation = next
    }
}
