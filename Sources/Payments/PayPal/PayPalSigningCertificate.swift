import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The parts of PayPal's signing certificate the verifier uses, read from PEM and checked for its subject.
///
/// Only the first certificate of a PEM chain is read: PayPal publishes its signing (leaf) certificate first,
/// followed by the intermediates that issued it. The chain itself is not walked, because the certificate
/// arrives over TLS from an allow-listed PayPal host, which already vouches for it.
struct PayPalSigningCertificate: Sendable {
    var publicKey: _RSA.Signing.PublicKey
    var notValidBefore: Date
    var notValidAfter: Date
    var subject: String

    static let beginMarker = "-----BEGIN CERTIFICATE-----"
    static let endMarker = "-----END CERTIFICATE-----"

    init(pem: String, subjectMustContain: String) throws(PayPalWebhookError) {
        guard let begin = pem.range(of: Self.beginMarker),
            let end = pem.range(of: Self.endMarker, range: begin.upperBound..<pem.endIndex)
        else {
            throw PayPalWebhookError(.certificateInvalid, "the certificate URL serves no PEM certificate")
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: String(pem[begin.lowerBound..<end.upperBound]))
        } catch {
            throw PayPalWebhookError(.certificateInvalid, "the certificate cannot be read: \(error)")
        }
        let commonNames = certificate.subject.flatMap { $0 }
            .filter { $0.type == .RDNAttributeType.commonName }
            .compactMap { String($0.value) }
        let needle = subjectMustContain.lowercased()
        guard commonNames.contains(where: { $0.lowercased().contains(needle) }) else {
            throw PayPalWebhookError(
                .certificateInvalid,
                "the certificate's subject '\(String(describing: certificate.subject).prefix(200))' has no common name containing '\(subjectMustContain)'"
            )
        }
        guard let publicKey = _RSA.Signing.PublicKey(certificate.publicKey) else {
            throw PayPalWebhookError(.certificateInvalid, "the certificate's key is not an RSA key")
        }
        self.publicKey = publicKey
        self.notValidBefore = certificate.notValidBefore
        self.notValidAfter = certificate.notValidAfter
        self.subject = String(describing: certificate.subject)
    }

    func isValid(at now: Date) -> Bool {
        notValidBefore <= now && now <= notValidAfter
    }

    func checkValidity(at now: Date) throws(PayPalWebhookError) {
        if now < notValidBefore {
            throw PayPalWebhookError(.certificateInvalid, "the certificate '\(subject.prefix(200))' is not valid before \(notValidBefore)")
        }
        if now > notValidAfter {
            throw PayPalWebhookError(.certificateInvalid, "the certificate '\(subject.prefix(200))' expired at \(notValidAfter)")
        }
    }
}
