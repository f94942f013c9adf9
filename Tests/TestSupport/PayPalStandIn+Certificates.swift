import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The stand-in's keys and certificates, all made at start so nothing secret is ever checked in.
///
/// A test certificate authority issues the TLS certificate for `127.0.0.1` / `localhost` and the webhook
/// signing certificate, as PayPal's public authority does for its hosts and for `messageverificationcerts`.
struct PayPalStandInCertificates: Sendable {
    /// The authority's certificate, which clients add to their trust roots.
    let authorityPEM: String
    let authorityKey: P256.Signing.PrivateKey
    let authorityName: DistinguishedName
    /// The TLS server's certificate and key.
    let serverCertificatePEM: String
    let serverKeyPEM: String
    /// The webhook signing key, RSA as PayPal's is, and a second key for forged deliveries.
    let signingKey: _RSA.Signing.PrivateKey
    let otherSigningKey: _RSA.Signing.PrivateKey

    init(now: Date) throws {
        let authorityKey = P256.Signing.PrivateKey()
        let authorityName = try DistinguishedName {
            OrganizationName("ListingLedger Tests")
            CommonName("PayPal Stand-in Test Authority")
        }
        let authority = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(authorityKey.publicKey),
            // Wide, because the signing certificate's chain is checked at the service's clock, which a test may move.
            notValidBefore: now - 3650 * 86_400,
            notValidAfter: now + 3650 * 86_400,
            issuer: authorityName,
            subject: authorityName,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(authorityKey)
        )
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(serverKey.publicKey),
            notValidBefore: now - 86_400,
            notValidAfter: now + 10 * 86_400,
            issuer: authorityName,
            subject: try DistinguishedName { CommonName("localhost") },
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: Certificate.PrivateKey(authorityKey)
        )
        self.authorityPEM = try authority.serializeAsPEM().pemString
        self.authorityKey = authorityKey
        self.authorityName = authorityName
        self.serverCertificatePEM = try server.serializeAsPEM().pemString
        self.serverKeyPEM = serverKey.pemRepresentation
        self.signingKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        self.otherSigningKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    /// A signing certificate for ``signingKey`` issued by the authority, as PEM followed by the authority's
    /// certificate: PayPal serves its signing certificate with its issuers too.
    func signingCertificateChainPEM(commonName: String, notValidBefore: Date, notValidAfter: Date) throws -> String {
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(signingKey.publicKey),
            notValidBefore: notValidBefore,
            notValidAfter: notValidAfter,
            issuer: authorityName,
            subject: try DistinguishedName {
                CountryName("US")
                OrganizationName("PayPal, Inc.")
                CommonName(commonName)
            },
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(authorityKey)
        )
        return try certificate.serializeAsPEM().pemString + "\n" + authorityPEM
    }
}
