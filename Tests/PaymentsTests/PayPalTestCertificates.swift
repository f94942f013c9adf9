import Crypto
import Foundation
import Payments
import SwiftASN1
import Synchronization
import X509
import _CryptoExtras

/// Keys and certificates made in the test process, signing deliveries as PayPal does.
enum PayPalTestCertificates {
    /// 2025-03-03T11:06:40Z: every test runs at this instant unless it says otherwise.
    static let now = Date(timeIntervalSince1970: 1_741_000_000)
    static let day: TimeInterval = 86_400
    static let webhookID = "1JE4291016473214C"
    static let certificateURL = "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-ab66f33d"
    static let body = Data(#"{"id":"WH-58D329510W468432D-8HN650336L201105X","event_version":"1.0","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#.utf8)

    // RSA key generation takes a noticeable fraction of a second, so each key is made once per process.
    static let signingKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let otherKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    /// A test certificate authority standing in for PayPal's public one; ``roots`` trusts it and nothing else.
    static let authorityKey = P256.Signing.PrivateKey()
    static let authorityName = try! DistinguishedName {
        OrganizationName("ListingLedger Tests")
        CommonName("Test Root Authority")
    }
    static let authorityPEM = authority(name: authorityName, key: authorityKey)
    static let roots = try! PayPalTrustRoots(pem: [authorityPEM], includingSystemRoots: false)

    /// A certificate for `signingKey` issued by the test authority with PayPal's common name, valid around ``now``.
    static let validPEM = certificate()

    /// A self-signed certificate authority's PEM, valid for ten years around ``now``.
    static func authority(name: DistinguishedName, key: P256.Signing.PrivateKey) -> String {
        let certificate = try! Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 3650 * day,
            notValidAfter: now + 3650 * day,
            issuer: name,
            subject: name,
            extensions: try! Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return try! certificate.serializeAsPEM().pemString
    }

    /// A signing certificate for `key` (default ``signingKey``), issued by `issuer` with `issuerKey` (default
    /// the test authority), or self-signed when `selfSigned` is true.
    static func certificate(
        commonName: String = "messageverificationcerts.paypal.com",
        notValidBefore: Date = now - 30 * day,
        notValidAfter: Date = now + 365 * day,
        key: Certificate.PrivateKey = Certificate.PrivateKey(signingKey),
        issuer: DistinguishedName = authorityName,
        issuerKey: P256.Signing.PrivateKey = authorityKey,
        selfSigned: Bool = false
    ) -> String {
        let name = try! DistinguishedName {
            CountryName("US")
            OrganizationName("PayPal, Inc.")
            CommonName(commonName)
        }
        let certificate = try! Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: notValidBefore,
            notValidAfter: notValidAfter,
            issuer: selfSigned ? name : issuer,
            subject: name,
            extensions: Certificate.Extensions(),
            issuerPrivateKey: selfSigned ? key : Certificate.PrivateKey(issuerKey)
        )
        return try! certificate.serializeAsPEM().pemString
    }

    /// An intermediate authority issued by the test authority, as PEM, with its key and name.
    static func intermediate() -> (pem: String, key: P256.Signing.PrivateKey, name: DistinguishedName) {
        let key = P256.Signing.PrivateKey()
        let name = try! DistinguishedName {
            OrganizationName("ListingLedger Tests")
            CommonName("Test Intermediate Authority")
        }
        let certificate = try! Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 365 * day,
            notValidAfter: now + 3 * 365 * day,
            issuer: authorityName,
            subject: name,
            extensions: try! Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(authorityKey)
        )
        return (try! certificate.serializeAsPEM().pemString, key, name)
    }

    /// The headers PayPal would send for `body` at `time`, signed with `key` for `webhookID`.
    static func transmission(
        body: Data = body,
        time: Date = now,
        webhookID: String = webhookID,
        certificateURL: String = certificateURL,
        algorithm: String = "SHA256withRSA",
        key: _RSA.Signing.PrivateKey = signingKey
    ) -> PayPalTransmission {
        let transmissionID = "69cd13f0-d67a-11e5-baa3-778b53f4ae55"
        let transmissionTime = time.formatted(Date.ISO8601FormatStyle())
        let signed = PayPalTransmission.signedString(
            transmissionID: transmissionID,
            transmissionTime: transmissionTime,
            webhookID: webhookID,
            body: body
        )
        let signature = try! key.signature(for: SHA256.hash(data: Data(signed.utf8)), padding: .insecurePKCS1v1_5)
        return PayPalTransmission(
            transmissionID: transmissionID,
            transmissionTime: transmissionTime,
            transmissionSignature: signature.rawRepresentation.base64EncodedString(),
            certificateURL: certificateURL,
            authenticationAlgorithm: algorithm
        )
    }
}

/// Serves fixed PEM text without HTTP and counts how often it was asked, and for which URLs.
final class InMemoryCertificateSource: PayPalCertificateSource {
    let pem: String
    let failure: PaymentsError?
    private let requests = Mutex<[URL]>([])

    init(pem: String = PayPalTestCertificates.validPEM, failure: PaymentsError? = nil) {
        self.pem = pem
        self.failure = failure
    }

    var requestedURLs: [URL] { requests.withLock { $0 } }

    func certificatePEM(at url: URL) async throws(PaymentsError) -> String {
        requests.withLock { $0.append(url) }
        if let failure { throw failure }
        return pem
    }
}
