import Foundation
import Synchronization

/// Signing certificates by URL, kept until they stop being valid.
///
/// Bounded, because the URLs come from requests: the allow-list limits the hosts but not the paths, and only
/// certificates that verified their subject and dates are ever stored.
final class PayPalCertificateCache: Sendable {

    private let entries = Mutex<[String: PayPalSigningCertificate]>([:])

    /// The certificate cached for `url` if it is valid at `now`; one that is not is evicted, so the caller
    /// fetches again and reports the precise reason.
    func certificate(for url: String, now: Date) -> PayPalSigningCertificate? {
        entries.withLock { entries in
            guard let certificate = entries[url] else { return nil }
            guard certificate.isValid(at: now) else {
                entries[url] = nil
                return nil
            }
            return certificate
        }
    }

    /// Stores a checked certificate, first evicting expired entries and then, when still full, the one that
    /// expires soonest.
    func store(_ certificate: PayPalSigningCertificate, for url: String, now: Date) {
        entries.withLock { entries in
            entries = entries.filter { $0.value.isValid(at: now) }
            if entries[url] == nil, entries.count >= PayPalWebhookVerifier.cachedCertificatesMax,
                let soonest = entries.min(by: { $0.value.notValidAfter < $1.value.notValidAfter })
            {
                entries[soonest.key] = nil
            }
            entries[url] = certificate
        }
    }
}
