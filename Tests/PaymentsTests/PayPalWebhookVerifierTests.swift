import Crypto
import Foundation
import Payments
import Testing
import X509
import _CryptoExtras

@Suite struct PayPalWebhookVerifierTests {
    typealias Fixture = PayPalTestCertificates

    static func verifier(
        _ source: InMemoryCertificateSource,
        transmissionAgeSecondsMax: Int64 = PayPalWebhookConfiguration.transmissionAgeSecondsMaxDefault
    ) -> PayPalWebhookVerifier {
        PayPalWebhookVerifier(
            configuration: PayPalWebhookConfiguration(
                webhookID: Fixture.webhookID, transmissionAgeSecondsMax: transmissionAgeSecondsMax, trustRoots: Fixture.roots
            ),
            certificateSource: source
        )
    }

    static func expectRejection(
        _ code: PaymentsError.Code,
        source: InMemoryCertificateSource = InMemoryCertificateSource(),
        body: Data = Fixture.body,
        transmission: PayPalTransmission = Fixture.transmission(),
        now: Date = Fixture.now
    ) async {
        await #expect(throws: PaymentsError(code, "")) {
            try await verifier(source).verify(body: body, transmission: transmission, now: now)
        }
    }

    @Test func validDeliveryIsAccepted() async throws {
        let source = InMemoryCertificateSource()
        try await Self.verifier(source).verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now)
        #expect(source.requestedURLs.map(\.absoluteString) == [Fixture.certificateURL])
    }

    @Test func signatureByAnotherKeyIsRejected() async {
        await Self.expectRejection(.signatureMismatch, transmission: Fixture.transmission(key: Fixture.otherKey))
    }

    @Test func bodyChangedByOneByteIsRejected() async {
        var tampered = Fixture.body
        tampered[tampered.count - 3] ^= 0x01
        await Self.expectRejection(.signatureMismatch, body: tampered)
    }

    @Test func signatureForAnotherSubscriptionIsRejected() async {
        await Self.expectRejection(.signatureMismatch, transmission: Fixture.transmission(webhookID: "8PT597110X687430LKGECATA"))
    }

    @Test func signatureThatIsNotBase64IsMalformed() async {
        var transmission = Fixture.transmission()
        transmission.transmissionSignature = "not base64 at all!"
        await Self.expectRejection(.malformedHeader, transmission: transmission)
    }

    @Test func transmissionTimeThatIsNotRFC3339IsMalformed() async {
        var transmission = Fixture.transmission()
        transmission.transmissionTime = "Mon, 03 Mar 2025 11:06:40 GMT"
        await Self.expectRejection(.malformedHeader, transmission: transmission)
    }

    @Test(arguments: [
        "https://evil.example/v1/notifications/certs/CERT-360caa42",
        "https://api.paypal.com.evil.example/certs/CERT-1",
        "https://api.paypal.com@evil.example/certs/CERT-1",
        "https://127.0.0.1/certs/CERT-1",
        // An allowed host, but not on HTTPS's own port: some other service of that host.
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-360caa42",
        "https://api-m.sandbox.paypal.com:22/v1/notifications/certs/CERT-360caa42",
    ])
    func certificateHostOutsideAllowListIsRejectedWithoutARequest(url: String) async {
        let source = InMemoryCertificateSource()
        await Self.expectRejection(.certificateHostNotAllowed, source: source, transmission: Fixture.transmission(certificateURL: url))
        #expect(source.requestedURLs.isEmpty)
    }

    @Test(arguments: [
        "https://api.paypal.com/v1/oauth2/token",
        "https://api.paypal.com/v1/notifications/certs/",
        "https://api.paypal.com/v1/notifications/certs/CERT-1/../../oauth2/token",
        "https://api.paypal.com/v1/notifications/certs/CERT-1?redirect=elsewhere",
        "https://api.paypal.com/certs/CERT-1",
    ])
    func anAllowedHostOutsidePayPalsCertificatePathIsRejectedWithoutARequest(url: String) async {
        let source = InMemoryCertificateSource()
        await Self.expectRejection(.certificateHostNotAllowed, source: source, transmission: Fixture.transmission(certificateURL: url))
        #expect(source.requestedURLs.isEmpty)
    }

    @Test func plainHTTPCertificateURLIsRejectedWithoutARequest() async {
        let source = InMemoryCertificateSource()
        let url = "http://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-ab66f33d"
        await Self.expectRejection(.certificateHostNotAllowed, source: source, transmission: Fixture.transmission(certificateURL: url))
        #expect(source.requestedURLs.isEmpty)
    }

    /// A listed host is fetched from on HTTPS's port, named or not; another port only where the list says
    /// `host:port`.
    @Test func aPortIsAllowedOnlyWhereTheListNamesIt() async throws {
        let path = "/v1/notifications/certs/CERT-360caa42-fca2a594-ab66f33d"
        try await Self.verifier(InMemoryCertificateSource()).verify(
            body: Fixture.body, transmission: Fixture.transmission(certificateURL: "https://api.paypal.com:443\(path)"), now: Fixture.now
        )
        let listed = PayPalWebhookVerifier(
            configuration: PayPalWebhookConfiguration(webhookID: Fixture.webhookID, allowedCertificateHosts: ["certs.example:8443"], trustRoots: Fixture.roots),
            certificateSource: InMemoryCertificateSource()
        )
        try await listed.verify(body: Fixture.body, transmission: Fixture.transmission(certificateURL: "https://certs.example:8443\(path)"), now: Fixture.now)
        for url in ["https://certs.example\(path)", "https://certs.example:8444\(path)"] {
            await #expect(throws: PaymentsError(.certificateHostNotAllowed, "")) {
                try await listed.verify(body: Fixture.body, transmission: Fixture.transmission(certificateURL: url), now: Fixture.now)
            }
        }
    }

    @Test func allowListMatchesHostsCaseInsensitively() async throws {
        let source = InMemoryCertificateSource()
        let url = "https://API-M.Sandbox.PayPal.com/v1/notifications/certs/CERT-360caa42-fca2a594-ab66f33d"
        try await Self.verifier(source).verify(body: Fixture.body, transmission: Fixture.transmission(certificateURL: url), now: Fixture.now)
    }

    @Test func expiredCertificateIsRejected() async {
        let pem = Fixture.certificate(notValidBefore: Fixture.now - 400 * Fixture.day, notValidAfter: Fixture.now - Fixture.day)
        await Self.expectRejection(.certificateInvalid, source: InMemoryCertificateSource(pem: pem))
    }

    @Test func notYetValidCertificateIsRejected() async {
        let pem = Fixture.certificate(notValidBefore: Fixture.now + Fixture.day, notValidAfter: Fixture.now + 400 * Fixture.day)
        await Self.expectRejection(.certificateInvalid, source: InMemoryCertificateSource(pem: pem))
    }

    @Test func certificateWithoutPayPalInItsCommonNameIsRejected() async {
        let pem = Fixture.certificate(commonName: "messageverificationcerts.example.com")
        await Self.expectRejection(.certificateInvalid, source: InMemoryCertificateSource(pem: pem))
    }

    @Test func configuredSubjectReplacesTheDefault() async throws {
        let pem = Fixture.certificate(commonName: "PayPal Stand-in Webhook Signing")
        let verifier = PayPalWebhookVerifier(
            configuration: PayPalWebhookConfiguration(webhookID: Fixture.webhookID, subjectMustContain: "stand-in webhook", trustRoots: Fixture.roots),
            certificateSource: InMemoryCertificateSource(pem: pem)
        )
        try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now)
    }

    @Test func certificateWithAnEllipticCurveKeyIsRejected() async {
        let pem = Fixture.certificate(key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
        await Self.expectRejection(.certificateInvalid, source: InMemoryCertificateSource(pem: pem))
    }

    @Test func textThatIsNotACertificateIsRejected() async {
        await Self.expectRejection(.certificateInvalid, source: InMemoryCertificateSource(pem: "<html>Not Found</html>"))
    }

    @Test func firstCertificateOfAChainIsTheSigningOne() async throws {
        let issuer = Fixture.certificate(commonName: "DigiCert SHA2 Secure Server CA", key: Certificate.PrivateKey(Fixture.otherKey))
        let source = InMemoryCertificateSource(pem: Fixture.validPEM + issuer)
        try await Self.verifier(source).verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now)
    }

    @Test func unavailableCertificateIsReported() async {
        let source = InMemoryCertificateSource(failure: PaymentsError(.certificateUnavailable, "503"))
        await Self.expectRejection(.certificateUnavailable, source: source)
    }

    @Test(arguments: ["SHA1withRSA", "SHA256withECDSA", "sha256withrsa", "none"])
    func algorithmOtherThanSHA256WithRSAIsRejectedWithoutARequest(algorithm: String) async {
        let source = InMemoryCertificateSource()
        await Self.expectRejection(.unknownAlgorithm, source: source, transmission: Fixture.transmission(algorithm: algorithm))
        #expect(source.requestedURLs.isEmpty)
    }

    @Test(arguments: 0..<5)
    func missingHeaderIsRejected(index: Int) async {
        var transmission = Fixture.transmission()
        switch index {
        case 0: transmission.transmissionID = nil
        case 1: transmission.transmissionTime = ""
        case 2: transmission.transmissionSignature = nil
        case 3: transmission.certificateURL = "  "
        default: transmission.authenticationAlgorithm = nil
        }
        let source = InMemoryCertificateSource()
        await Self.expectRejection(.missingHeader, source: source, transmission: transmission)
        #expect(source.requestedURLs.isEmpty)
    }

    @Test func headerAtTheLengthLimitIsReadAndOnePastItIsMalformed() async {
        var transmission = Fixture.transmission()
        transmission.transmissionID = String(repeating: "a", count: PayPalWebhookVerifier.headerBytesMax)
        // Read, so the signature (made for another id) is what fails.
        await Self.expectRejection(.signatureMismatch, transmission: transmission)
        transmission.transmissionID = String(repeating: "a", count: PayPalWebhookVerifier.headerBytesMax + 1)
        await Self.expectRejection(.malformedHeader, transmission: transmission)
    }

    @Test func headersAreReadByName() {
        let headers = [
            "PAYPAL-TRANSMISSION-ID": "id", "PAYPAL-TRANSMISSION-TIME": "time", "PAYPAL-TRANSMISSION-SIG": "sig",
            "PAYPAL-CERT-URL": "url", "PAYPAL-AUTH-ALGO": "algo",
        ]
        let transmission = PayPalTransmission { headers[$0] }
        #expect(transmission == PayPalTransmission(transmissionID: "id", transmissionTime: "time", transmissionSignature: "sig", certificateURL: "url", authenticationAlgorithm: "algo"))
        #expect(transmission.headers.count == 5)
    }

    @Test func transmissionWithinTheRetryPeriodIsAccepted() async throws {
        let threeDaysLater = Fixture.now + 3 * Fixture.day
        try await Self.verifier(InMemoryCertificateSource()).verify(body: Fixture.body, transmission: Fixture.transmission(), now: threeDaysLater)
    }

    @Test func transmissionOlderThanTheWindowIsStale() async {
        await Self.expectRejection(.staleTransmission, now: Fixture.now + 4 * Fixture.day + 1)
    }

    @Test func transmissionAtTheEdgeOfAConfiguredWindowIsAcceptedAndOneSecondLaterIsStale() async throws {
        let verifier = Self.verifier(InMemoryCertificateSource(), transmissionAgeSecondsMax: 300)
        try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now + 300)
        await #expect(throws: PaymentsError(.staleTransmission, "")) {
            try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now + 301)
        }
    }

    @Test func transmissionFromTheFutureBeyondTheSkewIsStale() async throws {
        try await Self.verifier(InMemoryCertificateSource()).verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now - 300)
        await Self.expectRejection(.staleTransmission, now: Fixture.now - 301)
    }

    @Test func staleTransmissionWithABadSignatureIsReportedAsAMismatch() async {
        await Self.expectRejection(.signatureMismatch, transmission: Fixture.transmission(key: Fixture.otherKey), now: Fixture.now + 30 * Fixture.day)
    }

    @Test func certificateIsFetchedOncePerURL() async throws {
        let source = InMemoryCertificateSource()
        let verifier = Self.verifier(source)
        try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now)
        try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(time: Fixture.now + 60), now: Fixture.now + 60)
        #expect(source.requestedURLs.count == 1)
        let otherURL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-5edc0ebc"
        try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(certificateURL: otherURL), now: Fixture.now)
        #expect(source.requestedURLs.map(\.absoluteString) == [Fixture.certificateURL, otherURL])
    }

    @Test func failedFetchesAreRememberedForAWhile() async {
        let source = InMemoryCertificateSource(failure: PaymentsError(.certificateUnavailable, "timeout"))
        let verifier = Self.verifier(source)
        let forgotten = Fixture.now + TimeInterval(PayPalWebhookVerifier.failureMemorySeconds)
        for instant in [Fixture.now, Fixture.now + 1, forgotten - 1, forgotten] {
            await #expect(throws: PaymentsError(.certificateUnavailable, "")) {
                try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(time: instant), now: instant)
            }
        }
        #expect(source.requestedURLs.count == 2, "one request until the failure is forgotten, then one more")
    }

    @Test func aCertificateThatFailedItsChecksIsRememberedToo() async {
        let source = InMemoryCertificateSource(pem: Fixture.certificate(selfSigned: true))
        let verifier = Self.verifier(source)
        for _ in 0..<3 {
            await #expect(throws: PaymentsError(.certificateInvalid, "")) {
                try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now)
            }
        }
        #expect(source.requestedURLs.count == 1)
    }

    @Test func aSelfSignedCertificateWithPayPalsNameIsRejected() async {
        await Self.expectRejection(.certificateInvalid, source: InMemoryCertificateSource(pem: Fixture.certificate(selfSigned: true)))
    }

    @Test func aCertificateFromAnAuthorityThatIsNotTrustedIsRejected() async {
        let otherKey = P256.Signing.PrivateKey()
        let otherName = try! DistinguishedName { CommonName("Some Other Authority") }
        let pem = Fixture.certificate(issuer: otherName, issuerKey: otherKey) + Fixture.authority(name: otherName, key: otherKey)
        await Self.expectRejection(.certificateInvalid, source: InMemoryCertificateSource(pem: pem))
    }

    @Test func aChainThroughAnIntermediateVerifiesOnlyWithTheIntermediateServed() async throws {
        let intermediate = Fixture.intermediate()
        let leaf = Fixture.certificate(issuer: intermediate.name, issuerKey: intermediate.key)
        let served = InMemoryCertificateSource(pem: leaf + intermediate.pem)
        try await Self.verifier(served).verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now)
        await Self.expectRejection(.certificateInvalid, source: InMemoryCertificateSource(pem: leaf))
    }

    @Test func anIssuerThatHasExpiredBreaksTheChain() async {
        let later = Fixture.now + 4 * 365 * Fixture.day
        let intermediate = Fixture.intermediate()
        let leaf = Fixture.certificate(notValidAfter: later + Fixture.day, issuer: intermediate.name, issuerKey: intermediate.key)
        await Self.expectRejection(
            .certificateInvalid, source: InMemoryCertificateSource(pem: leaf + intermediate.pem), transmission: Fixture.transmission(time: later), now: later
        )
    }

    @Test func cachedCertificateThatHasSinceExpiredIsFetchedAgainAndRejected() async throws {
        let pem = Fixture.certificate(notValidBefore: Fixture.now - Fixture.day, notValidAfter: Fixture.now + Fixture.day)
        let source = InMemoryCertificateSource(pem: pem)
        let verifier = Self.verifier(source)
        try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(), now: Fixture.now)
        let later = Fixture.now + 2 * Fixture.day
        await #expect(throws: PaymentsError(.certificateInvalid, "")) {
            try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(time: later), now: later)
        }
        #expect(source.requestedURLs.count == 2)
    }

    @Test func cacheHoldsUpToItsLimitAndEvictsPastIt() async throws {
        func url(_ index: Int) -> String { "https://api.paypal.com/v1/notifications/certs/CERT-\(index)" }
        let limit = PayPalWebhookVerifier.cachedCertificatesMax
        let source = InMemoryCertificateSource()
        let verifier = Self.verifier(source)
        for round in 0..<2 {
            for index in 0..<limit {
                try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(certificateURL: url(index)), now: Fixture.now)
            }
            #expect(source.requestedURLs.count == limit, "round \(round)")
        }
        try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(certificateURL: url(limit)), now: Fixture.now)
        for index in 0..<limit {
            try await verifier.verify(body: Fixture.body, transmission: Fixture.transmission(certificateURL: url(index)), now: Fixture.now)
        }
        // One entry had to go to make room, so at least one of the first URLs was fetched again.
        #expect(source.requestedURLs.count > limit + 1)
    }
}
