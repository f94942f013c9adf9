import Foundation
import Synchronization

/// Signing certificates by URL, kept until they stop being valid, and failed fetches by URL, kept for a while.
///
/// Both are bounded, because the URLs come from requests: the allow-list limits the hosts and the path, but not
/// the certificate name. Only certificates whose chain verified are stored. A URL whose fetch or check failed is
/// answered with the same error, without a request, until ``PayPalWebhookVerifier/failureMemorySeconds`` have
/// passed, so a stream of deliveries naming a broken or unreachable certificate costs one request, not one each.
final class PayPalCertificateCache: Sendable {
    private struct Failure {
        var error: PaymentsError
        var until: Date
    }

    private struct Entries {
        var certificates: [String: PayPalSigningCertificate] = [:]
        var failures: [String: Failure] = [:]
    }

    private let entries = Mutex(Entries())

    /// The certificate cached for `url` if it is valid at `now`; one that is not is evicted, so the caller
    /// fetches again and reports the precise reason.
    func certificate(for url: String, now: Date) -> PayPalSigningCertificate? {
        entries.withLock { entries in
            guard let certificate = entries.certificates[url] else { return nil }
            guard certificate.isValid(at: now) else {
                entries.certificates[url] = nil
                return nil
            }
            return certificate
        }
    }

    /// The error the last fetch of `url` failed with, while it is remembered.
    func failure(for url: String, now: Date) -> PaymentsError? {
        entries.withLock { entries in
            guard let failure = entries.failures[url] else { return nil }
            guard now < failure.until else {
                entries.failures[url] = nil
                return nil
            }
            return failure.error
        }
    }

    /// Stores a checked certificate, first evicting expired entries and then, when still full, the one that
    /// expires soonest. A failure remembered for the URL is forgotten.
    func store(_ certificate: PayPalSigningCertificate, for url: String, now: Date) {
        entries.withLock { entries in
            entries.failures[url] = nil
            entries.certificates = entries.certificates.filter { $0.value.isValid(at: now) }
            if entries.certificates[url] == nil, entries.certificates.count >= PayPalWebhookVerifier.cachedCertificatesMax,
                let soonest = entries.certificates.min(by: { $0.value.notValidAfter < $1.value.notValidAfter })
            {
                entries.certificates[soonest.key] = nil
            }
            entries.certificates[url] = certificate
        }
    }

    /// Remembers that fetching or checking `url` failed with `error`, until `now` plus `seconds`; when full, the
    /// failure that would be forgotten soonest makes room.
    func remember(_ error: PaymentsError, for url: String, now: Date, seconds: Int64) {
        entries.withLock { entries in
            entries.failures = entries.failures.filter { now < $0.value.until }
            if entries.failures[url] == nil, entries.failures.count >= PayPalWebhookVerifier.rememberedFailuresMax,
                let soonest = entries.failures.min(by: { $0.value.until < $1.value.until })
            {
                entries.failures[soonest.key] = nil
            }
            entries.failures[url] = Failure(error: error, until: now + TimeInterval(seconds))
        }
    }
}
