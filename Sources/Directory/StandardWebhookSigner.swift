import Crypto
public import Foundation

/// Signs outgoing webhooks as Standard Webhooks prescribes: HMAC-SHA256 over `<id>.<timestamp>.<body>`,
/// base64, sent as `v1,<signature>`; one entry per active secret, space-separated, so a receiver that has only
/// the old or only the new secret during a rotation still verifies.
public enum StandardWebhookSigner {
    /// One signature, without the `v1,` prefix.
    public static func signature(id: String, timestamp: Int64, body: Data, secret: WebhookSecret) -> String {
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret.key))
        return Data(mac).base64EncodedString()
    }

    /// The `webhook-signature` header value for `secrets` (current first).
    public static func header(id: String, timestamp: Int64, body: Data, secrets: [WebhookSecret]) -> String {
        secrets.map { "v1,\(signature(id: id, timestamp: timestamp, body: body, secret: $0))" }.joined(separator: " ")
    }

    /// Checks a `webhook-signature` header as a receiver does: some `v1` entry matches under `secret`, compared
    /// in constant time, and the timestamp is within `toleranceSeconds` of `now` either way.
    public static func verify(
        id: String, timestamp: Int64, body: Data, header: String, secret: WebhookSecret, now: Date, toleranceSeconds: Int64 = 300
    ) -> Bool {
        // Any timestamp may arrive: the difference is taken without overflow (a timestamp near Int64.min or max
        // is simply out of tolerance), and a clock outside Int64's seconds is clamped rather than trapped.
        let seconds = now.timeIntervalSince1970
        let nowSeconds = seconds.isNaN ? 0 : seconds >= 9.2e18 ? Int64.max : seconds <= -9.2e18 ? Int64.min : Int64(seconds)
        let (difference, overflow) = nowSeconds.subtractingReportingOverflow(timestamp)
        guard !overflow, difference.magnitude <= toleranceSeconds.magnitude else { return false }
        let expected = Data(signature(id: id, timestamp: timestamp, body: body, secret: secret).utf8)
        return header.split(separator: " ").contains { entry in
            guard entry.hasPrefix("v1,") else { return false }
            return constantTimeEqual(Data(entry.dropFirst(3).utf8), expected)
        }
    }

    static func constantTimeEqual(_ left: Data, _ right: Data) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(left, right) { difference |= a ^ b }
        return difference == 0
    }
}
