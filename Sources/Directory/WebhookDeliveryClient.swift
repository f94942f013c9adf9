public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Sends one signed Standard Webhooks request and classifies the answer. Knows nothing of storage: the
/// caller records the outcome.
public struct WebhookDeliveryClient: Sendable {
    /// How long one attempt may take, connection to last byte, unless configured.
    public static let requestTimeoutSecondsDefault: Int64 = 15
    /// The most of a receiver's answer we read (and then ignore).
    static let responseBytesMax = 64 * 1024

    let httpClient: HTTPClient
    /// How long one attempt may take, connection to last byte.
    public let requestTimeoutSeconds: Int64

    /// `httpClient` must not follow redirects: a redirect is a failed delivery, never followed with the
    /// signature attached.
    public init(httpClient: HTTPClient, requestTimeoutSeconds: Int64 = requestTimeoutSecondsDefault) {
        precondition(requestTimeoutSeconds > 0, "a delivery's time limit must be positive")
        self.httpClient = httpClient
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    /// What a receiver said.
    public enum Outcome: Sendable, Hashable {
        /// 2xx.
        case delivered(status: Int)
        /// 410 Gone: the endpoint no longer wants deliveries.
        case gone
        /// Anything else: another status (3xx included), a timeout or a network error.
        case failed(status: Int?, retryAfterSeconds: Int64?, detail: String)
    }

    /// One attempt: `webhook-id` is stable across attempts; the timestamp and signatures are made now.
    public func send(
        url: String, webhookID: String, body: Data, secrets: [WebhookSecret], now: Date
    ) async -> Outcome {
        let timestamp = Int64(now.timeIntervalSince1970)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "listing-ledger-webhooks/1")
        request.headers.add(name: "webhook-id", value: webhookID)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: StandardWebhookSigner.header(id: webhookID, timestamp: timestamp, body: body, secrets: secrets))
        request.body = .bytes(ByteBuffer(bytes: body))
        guard !secrets.isEmpty else {
            return .failed(status: nil, retryAfterSeconds: nil, detail: "not sent: the endpoint's signing secret cannot be opened with this instance's LEDGER_SECRETS_KEY")
        }
        let timeoutSeconds = requestTimeoutSeconds
        let deadline = NIODeadline.now() + .seconds(timeoutSeconds)
        let httpClient = self.httpClient
        let prepared = request
        // The receiver's status line is its answer. The client's own deadline stops once the answer's head arrives,
        // so the rest (drained only so the connection can be reused) is read in a race with a timer: a receiver that
        // stalls after its status line must not hold the attempt, and with it every delivery after it, for ever. The
        // head is kept as soon as it arrives, so neither the timer nor a stop (SIGTERM) while the rest is read turns
        // an answer given into none.
        let head = AnswerHead()
        let failure: (any Error)? = await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    let response = try await httpClient.execute(prepared, deadline: deadline)
                    head.value.withLock { $0 = (Int(response.status.code), response.headers) }
                    _ = try? await response.body.collect(upTo: Self.responseBytesMax)
                    return nil
                } catch {
                    return error
                }
            }
            group.addTask {
                // Whether it wakes or is cancelled, the timer yields nothing; it only ends the race.
                try? await Task.sleep(for: .seconds(timeoutSeconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch (head.value.withLock { $0 }, failure) {
        case (nil, .some(let error)):
            return .failed(status: nil, retryAfterSeconds: nil, detail: "no answer: \(error)")
        case (nil, nil):
            return .failed(status: nil, retryAfterSeconds: nil, detail: "no answer within \(timeoutSeconds) s")
        case (.some(let (status, headers)), _):
            switch status {
            case 200..<300: return .delivered(status: status)
            case 410: return .gone
            default:
                // Retry-After is heeded where it says when to come back, on 429 and 503 only: on another failure
                // (a 500, a redirect) a day's Retry-After would hold every later change of the profile for a day.
                let retryAfter = [429, 503].contains(status) ? headers.first(name: "Retry-After").flatMap { Self.retryAfterSeconds($0, now: now) } : nil
                return .failed(status: status, retryAfterSeconds: retryAfter, detail: "the receiver answered \(status)")
            }
        }
    }

    /// `Retry-After` as delta-seconds or an HTTP date, in any of the three forms RFC 9110 asks a recipient to
    /// read (IMF-fixdate, RFC 850, asctime). Delta-seconds too many for `Int64` are the longest wait there is
    /// (the retry policy bounds it), not no wait at all.
    static func retryAfterSeconds(_ value: String, now: Date) -> Int64? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            return Int64(trimmed) ?? .max
        }
        // asctime pads a one-digit day with a second space.
        let spaced = trimmed.split(separator: " ").joined(separator: " ")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: spaced) {
                let seconds = date.timeIntervalSince(now).rounded(.up)
                return seconds <= 0 ? 0 : seconds >= Double(Int64.max) ? .max : Int64(seconds)
            }
        }
        return nil
    }
}

/// A receiver's status line and headers, kept by the task that reads the answer as soon as they arrive.
private final class AnswerHead: Sendable {
    let value = Mutex<(status: Int, headers: HTTPHeaders)?>(nil)
}
