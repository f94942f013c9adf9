public import Foundation
import Crypto
import _CryptoExtras

/// What the webhook verifier trusts: our subscription, PayPal's certificate hosts and subject, and how old a
/// transmission may be.
public struct PayPalWebhookConfiguration: Sendable {
    /// PayPal's certificate hosts, production and sandbox.
    public static let allowedCertificateHostsDefault: Set<String> = [
        "api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com",
    ]
    /// PayPal's signing certificates have a common name such as `messageverificationcerts.paypal.com`.
    public static let subjectMustContainDefault = "paypal"
    /// Four days: PayPal retries a delivery for up to three days, plus a day of margin.
    ///
    /// PayPal does not document whether a retry is signed afresh or resent with its first transmission time.
    /// A window of minutes would, in the second case, refuse every retry and lose the event; a window covering
    /// the whole retry period loses nothing. Replays inside the window are harmless, because the inbox records
    /// each event id once; the window only bounds how long a captured delivery stays usable at all.
    public static let transmissionAgeSecondsMaxDefault: Int64 = 4 * 24 * 60 * 60
    /// How far in the future a transmission time may be, for clock skew between PayPal and us.
    public static let clockSkewSecondsMaxDefault: Int64 = 300

    /// Our webhook subscription's id (from PayPal's dashboard); part of every signed string.
    public var webhookID: String
    /// Hosts a certificate URL may name, lower case; any other host is refused without a request. A host is
    /// allowed on port 443 only; `host:port` allows that host on that port.
    public var allowedCertificateHosts: Set<String>
    /// Text a common name in the certificate's subject must contain, compared case-insensitively.
    public var subjectMustContain: String
    /// The oldest transmission time accepted, in seconds before now.
    public var transmissionAgeSecondsMax: Int64
    /// The furthest transmission time accepted, in seconds after now.
    public var clockSkewSecondsMax: Int64
    /// The authorities a signing certificate must chain to: the system's roots unless configured otherwise.
    public var trustRoots: PayPalTrustRoots

    /// Creates a configuration; host names are lower-cased so the allow-list matches as DNS does.
    public init(
        webhookID: String,
        allowedCertificateHosts: Set<String> = allowedCertificateHostsDefault,
        subjectMustContain: String = subjectMustContainDefault,
        transmissionAgeSecondsMax: Int64 = transmissionAgeSecondsMaxDefault,
        clockSkewSecondsMax: Int64 = clockSkewSecondsMaxDefault,
        trustRoots: PayPalTrustRoots = .system
    ) {
        precondition(!webhookID.isEmpty, "a PayPal webhook id is required: every signature covers it")
        precondition(!subjectMustContain.isEmpty, "an empty subject check would accept any certificate")
        precondition(transmissionAgeSecondsMax >= 0 && clockSkewSecondsMax >= 0, "time windows are not negative")
        self.webhookID = webhookID
        self.allowedCertificateHosts = Set(allowedCertificateHosts.map { $0.lowercased() })
        self.subjectMustContain = subjectMustContain
        self.transmissionAgeSecondsMax = transmissionAgeSecondsMax
        self.clockSkewSecondsMax = clockSkewSecondsMax
        self.trustRoots = trustRoots
    }
}

/// Verifies PayPal webhook deliveries offline, with the public key of PayPal's signing certificate.
///
/// PayPal signs `<transmission id>|<transmission time>|<webhook id>|<crc32 of the raw body>` with RSA PKCS#1
/// v1.5 and SHA-256. The certificate URL comes from the request, so it is checked before anything is fetched:
/// `https` only, and only from an allow-listed host, or an attacker could make us fetch any URL (and sign with
/// their own certificate). The certificate must chain to a configured trust root. Certificates are cached by URL
/// until they expire, so a delivery costs no request once the certificate is known; a failed fetch or check is
/// remembered for ``failureMemorySeconds``, so a flood of deliveries naming a bad URL costs one request.
public struct PayPalWebhookVerifier: Sendable {
    /// The longest header value read; real values are under 700 bytes (a 4096-bit signature in base64).
    public static let headerBytesMax = 2048
    /// The most certificates cached; PayPal signs with one certificate at a time and rotates yearly.
    public static let cachedCertificatesMax = 16
    /// How long a failed certificate fetch or check is remembered: deliveries naming that URL are refused
    /// with the same error, without a request, until then. PayPal retries a delivery for three days, so an
    /// authentic event refused in a short outage still arrives.
    public static let failureMemorySeconds: Int64 = 300
    /// The most failed URLs remembered at once.
    public static let rememberedFailuresMax = 64

    /// What the verifier trusts.
    public let configuration: PayPalWebhookConfiguration
    let certificateSource: any PayPalCertificateSource
    let cache: PayPalCertificateCache

    /// Creates a verifier fetching certificates from `certificateSource`; each verifier has its own cache.
    public init(configuration: PayPalWebhookConfiguration, certificateSource: any PayPalCertificateSource) {
        self.configuration = configuration
        self.certificateSource = certificateSource
        self.cache = PayPalCertificateCache()
    }

    /// Throws unless `transmission` is a valid PayPal signature over `body` for our webhook id, made with a
    /// current PayPal certificate from an allowed host, within the configured time window of `now`.
    ///
    /// Checks run cheapest first and the certificate URL is vetted before any request. The time window is
    /// checked after the signature, as for card webhooks, so ``PaymentsError/Code/staleTransmission`` only
    /// ever describes an authentic delivery.
    public func verify(body: Data, transmission: PayPalTransmission, now: Date) async throws(PaymentsError) {
        let headers = try RequiredHeaders(transmission)
        guard headers.algorithm == PayPalTransmission.algorithmSHA256WithRSA else {
            throw PaymentsError(
                .unknownAlgorithm,
                "PAYPAL-AUTH-ALGO is '\(headers.algorithm.prefix(40))'; only \(PayPalTransmission.algorithmSHA256WithRSA) is accepted"
            )
        }
        guard let signature = Data(base64Encoded: headers.signature), !signature.isEmpty else {
            throw PaymentsError(.malformedHeader, "PAYPAL-TRANSMISSION-SIG is not base64")
        }
        guard let transmittedAt = PayPalTime.parse(headers.time) else {
            throw PaymentsError(.malformedHeader, "PAYPAL-TRANSMISSION-TIME '\(headers.time.prefix(40))' is not an RFC 3339 time")
        }
        let certificateURL = try allowedCertificateURL(headers.certificateURL)
        let certificate = try await signingCertificate(at: certificateURL, now: now)
        let signedString = PayPalTransmission.signedString(
            transmissionID: headers.id,
            transmissionTime: headers.time,
            webhookID: configuration.webhookID,
            body: body
        )
        let digest = SHA256.hash(data: Data(signedString.utf8))
        let valid = certificate.publicKey.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature),
            for: digest,
            padding: .insecurePKCS1v1_5
        )
        guard valid else {
            throw PaymentsError(
                .signatureMismatch,
                "the signature of transmission \(headers.id.prefix(64)) does not verify for this body and webhook id"
            )
        }
        try checkWindow(transmittedAt, now: now)
    }

    /// Verifies the delivery, then reads the body as an event.
    public func verifiedEvent(body: Data, transmission: PayPalTransmission, now: Date) async throws(PaymentsError) -> PayPalEvent {
        try await verify(body: body, transmission: transmission, now: now)
        return try PayPalEvent.parse(body)
    }

    /// The certificate URL, if it is `https` on an allow-listed host; user info is refused because
    /// `https://api.paypal.com@elsewhere/` names the host `elsewhere`, and people misread it.
    func allowedCertificateURL(_ text: String) throws(PaymentsError) -> URL {
        guard let components = URLComponents(string: text), let url = components.url, let host = components.host, !host.isEmpty else {
            throw PaymentsError(.malformedHeader, "PAYPAL-CERT-URL is not a URL")
        }
        guard components.scheme?.lowercased() == "https" else {
            throw PaymentsError(.certificateHostNotAllowed, "PAYPAL-CERT-URL is not https; certificates are fetched over https only")
        }
        guard components.user == nil, components.password == nil else {
            throw PaymentsError(.certificateHostNotAllowed, "PAYPAL-CERT-URL carries user information")
        }
        // A host on the list is allowed on HTTPS's own port; another port only where the list names it
        // (`host:port`), so an allowed host cannot be asked for a certificate by some other service it runs.
        let name = host.lowercased()
        let allowed = switch components.port {
        case nil, 443?: configuration.allowedCertificateHosts.contains(name) || configuration.allowedCertificateHosts.contains("\(name):443")
        case let port?: configuration.allowedCertificateHosts.contains("\(name):\(port)")
        }
        guard allowed else {
            let port = components.port.map { ":\($0)" } ?? ""
            throw PaymentsError(
                .certificateHostNotAllowed,
                "PAYPAL-CERT-URL names host '\(host.prefix(80))\(port)', which is not among the allowed certificate hosts"
            )
        }
        // Only PayPal's certificate path: an allowed host serves much else, none of it a signing certificate.
        let prefix = "/v1/notifications/certs/"
        let certificate = components.path.hasPrefix(prefix) ? components.path.dropFirst(prefix.count) : ""
        guard (1...128).contains(certificate.count), certificate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }),
              components.query == nil, components.fragment == nil else {
            throw PaymentsError(
                .certificateHostNotAllowed, "PAYPAL-CERT-URL is not a PayPal certificate URL (https://<host>\(prefix)<certificate name>)"
            )
        }
        return url
    }

    /// The cached certificate for `url` if it is still valid at `now`; else, unless a recent failure for `url`
    /// is remembered, a freshly fetched one whose subject, dates and chain check out.
    private func signingCertificate(at url: URL, now: Date) async throws(PaymentsError) -> PayPalSigningCertificate {
        let key = url.absoluteString
        if let cached = cache.certificate(for: key, now: now) {
            return cached
        }
        if let remembered = cache.failure(for: key, now: now) {
            throw remembered
        }
        do {
            let pem = try await certificateSource.certificatePEM(at: url)
            let certificate = try await PayPalSigningCertificate.verified(
                pem: pem, subjectMustContain: configuration.subjectMustContain, roots: configuration.trustRoots, now: now
            )
            cache.store(certificate, for: key, now: now)
            return certificate
        } catch {
            cache.remember(error, for: key, now: now, seconds: Self.failureMemorySeconds)
            throw error
        }
    }

    private func checkWindow(_ transmittedAt: Date, now: Date) throws(PaymentsError) {
        let ageSeconds = Int64(now.timeIntervalSince(transmittedAt).rounded(.towardZero))
        if ageSeconds > configuration.transmissionAgeSecondsMax {
            throw PaymentsError(
                .staleTransmission,
                "the transmission is \(ageSeconds) s old; at most \(configuration.transmissionAgeSecondsMax) s is accepted"
            )
        }
        if -ageSeconds > configuration.clockSkewSecondsMax {
            throw PaymentsError(
                .staleTransmission,
                "the transmission time is \(-ageSeconds) s in the future; at most \(configuration.clockSkewSecondsMax) s is accepted"
            )
        }
    }
}

/// The five headers, each present, non-empty and of bounded length.
private struct RequiredHeaders {
    var id: String
    var time: String
    var signature: String
    var certificateURL: String
    var algorithm: String

    init(_ transmission: PayPalTransmission) throws(PaymentsError) {
        id = try Self.require(transmission.transmissionID, PayPalTransmission.transmissionIDHeader)
        time = try Self.require(transmission.transmissionTime, PayPalTransmission.transmissionTimeHeader)
        signature = try Self.require(transmission.transmissionSignature, PayPalTransmission.transmissionSignatureHeader)
        certificateURL = try Self.require(transmission.certificateURL, PayPalTransmission.certificateURLHeader)
        algorithm = try Self.require(transmission.authenticationAlgorithm, PayPalTransmission.authenticationAlgorithmHeader)
    }

    private static func require(_ value: String?, _ name: String) throws(PaymentsError) -> String {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
            throw PaymentsError(.missingHeader, "the request has no \(name) header")
        }
        guard value.utf8.count <= PayPalWebhookVerifier.headerBytesMax else {
            throw PaymentsError(.malformedHeader, "\(name) is longer than \(PayPalWebhookVerifier.headerBytesMax) bytes")
        }
        return value
    }
}
