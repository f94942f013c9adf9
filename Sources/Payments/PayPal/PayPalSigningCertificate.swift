import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The parts of PayPal's signing certificate the verifier uses, read from the PEM chain PayPal serves and
/// checked: its subject, its dates, and a chain to a trusted root.
///
/// PayPal serves its signing (leaf) certificate first, followed by the intermediates that issued it. The
/// leaf must chain through those intermediates to one of the configured roots (RFC 5280 path validation at
/// the delivery's time), so a certificate on an allowed host that no public authority issued is refused.
struct PayPalSigningCertificate: Sendable {
    var publicKey: _RSA.Signing.PublicKey
    var notValidBefore: Date
    /// The earliest end of validity along the verified chain: past it, the chain must be checked again.
    var notValidAfter: Date
    var subject: String

    /// The most certificates read from one PEM file; PayPal's chain has three.
    static let chainLengthMax = 8

    /// Reads, checks and verifies the chain in `pem` at `now` against `roots`.
    static func verified(
        pem: String, subjectMustContain: String, roots: PayPalTrustRoots, now: Date
    ) async throws(PaymentsError) -> PayPalSigningCertificate {
        let chain = try readChain(pem)
        guard let leaf = chain.first else {
            throw PaymentsError(.certificateInvalid, "the certificate URL serves no PEM certificate")
        }
        let subject = String(describing: leaf.subject)
        let commonNames = leaf.subject.flatMap { $0 }
            .filter { $0.type == .RDNAttributeType.commonName }
            .compactMap { String($0.value) }
        let needle = subjectMustContain.lowercased()
        guard commonNames.contains(where: { $0.lowercased().contains(needle) }) else {
            throw PaymentsError(
                .certificateInvalid,
                "the certificate's subject '\(subject.prefix(200))' has no common name containing '\(subjectMustContain)'"
            )
        }
        guard let publicKey = _RSA.Signing.PublicKey(leaf.publicKey) else {
            throw PaymentsError(.certificateInvalid, "the certificate's key is not an RSA key")
        }
        if now < leaf.notValidBefore {
            throw PaymentsError(.certificateInvalid, "the certificate '\(subject.prefix(200))' is not valid before \(leaf.notValidBefore)")
        }
        if now > leaf.notValidAfter {
            throw PaymentsError(.certificateInvalid, "the certificate '\(subject.prefix(200))' expired at \(leaf.notValidAfter)")
        }
        var verifier = Verifier(rootCertificates: roots.store) { RFC5280Policy(validationTime: now) }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst()))
        guard case .validCertificate(let validated) = result else {
            throw PaymentsError(
                .certificateInvalid,
                "the certificate '\(subject.prefix(200))' does not chain to a trusted root (issuer '\(String(describing: leaf.issuer).prefix(200))')"
            )
        }
        return PayPalSigningCertificate(
            publicKey: publicKey,
            notValidBefore: validated.map(\.notValidBefore).max() ?? leaf.notValidBefore,
            notValidAfter: validated.map(\.notValidAfter).min() ?? leaf.notValidAfter,
            subject: subject
        )
    }

    /// The certificates of a PEM file, in order; text around them is ignored, as `openssl` does.
    private static func readChain(_ pem: String) throws(PaymentsError) -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw PaymentsError(.certificateInvalid, "the certificate URL serves no readable PEM certificate")
        }
        let certificates = documents.filter { $0.discriminator == "CERTIFICATE" }
        guard certificates.count <= chainLengthMax else {
            throw PaymentsError(.certificateInvalid, "the certificate file holds more than \(chainLengthMax) certificates")
        }
        do {
            return try certificates.map { try Certificate(pemDocument: $0) }
        } catch {
            throw PaymentsError(.certificateInvalid, "the certificate cannot be read: \(error)")
        }
    }

    func isValid(at now: Date) -> Bool {
        notValidBefore <= now && now <= notValidAfter
    }
}

/// The certificate authorities a PayPal signing certificate must chain to.
public struct PayPalTrustRoots: Sendable {
    let store: CertificateStore

    /// The system's roots (`/etc/ssl/certs/ca-certificates.crt`), where PayPal's public authority is.
    public static let system = PayPalTrustRoots(store: CertificateStore.systemTrustRoots)

    private init(store: CertificateStore) {
        self.store = store
    }

    /// The certificates in `pem` (one or more PEM files' text), with the system's roots or without them.
    public init(pem: [String], includingSystemRoots: Bool) throws(PaymentsError) {
        var certificates: [Certificate] = []
        for text in pem {
            do {
                certificates += try PEMDocument.parseMultiple(pemString: text)
                    .filter { $0.discriminator == "CERTIFICATE" }
                    .map { try Certificate(pemDocument: $0) }
            } catch {
                throw PaymentsError(.certificateInvalid, "a configured trust root is not a readable PEM certificate")
            }
        }
        let base = includingSystemRoots ? CertificateStore.systemTrustRoots : CertificateStore()
        self.store = base.appending(contentsOf: certificates)
    }
}
