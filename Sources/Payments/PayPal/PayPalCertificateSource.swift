import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where the verifier gets a signing certificate, given a URL it has already vetted.
///
/// A protocol so that unit tests can hand over a certificate without HTTP, and count how often they were asked.
public protocol PayPalCertificateSource: Sendable {
    /// The PEM text served at `url`: the signing certificate, possibly followed by its issuers.
    func certificatePEM(at url: URL) async throws(PaymentsError) -> String
}

/// Fetches certificates over HTTPS with a client of its own: bounded in time and size, and never following a
/// redirect, because a redirect could lead away from the allow-listed host the URL was vetted for.
public final class PayPalHTTPCertificateSource: PayPalCertificateSource {
    /// The largest certificate file read; PayPal's chain is about 5 kB.
    public static let certificateBytesMax = 64 * 1024

    let httpClient: HTTPClient
    let requestTimeoutSeconds: Int64

    /// Creates a source on a new HTTP client that trusts the system's roots plus `additionalTrustRootsPEM`
    /// (a test certificate authority, for the stand-in). Call ``shutdown()`` when done.
    public init(additionalTrustRootsPEM: [String] = [], requestTimeoutSeconds: Int64 = 10) throws {
        precondition(requestTimeoutSeconds > 0, "a request timeout must be positive")
        var tls = TLSConfiguration.makeClientConfiguration()
        let roots = try additionalTrustRootsPEM.flatMap { try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }
        if !roots.isEmpty {
            tls.additionalTrustRoots = [.certificates(roots)]
        }
        self.httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        )
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    /// GETs `url` and returns its body when the answer is 200.
    public func certificatePEM(at url: URL) async throws(PaymentsError) -> String {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/x-pem-file, */*")
        let outcome = await HTTPExchange.run(
            request,
            on: httpClient,
            timeoutSeconds: requestTimeoutSeconds,
            bodyBytesMax: Self.certificateBytesMax
        )
        let host = url.host ?? "?"
        switch outcome {
        case .answered(let status, let body) where status == 200:
            return String(decoding: body, as: UTF8.self)
        case .answered(let status, _) where status == 404 || status == 410:
            // No certificate by that name: a forged delivery's made-up one, which asking later cannot change (a
            // delivery PayPal signed names a certificate it publishes).
            throw PaymentsError(.certificateInvalid, "the certificate host \(host) has no certificate at \(url.path.prefix(200)) (it answered \(status))")
        case .answered(let status, _):
            throw PaymentsError(.certificateUnavailable, "the certificate host \(host) answered \(status)")
        case .tooLarge:
            throw PaymentsError(.certificateUnavailable, "the certificate from \(host) is larger than \(Self.certificateBytesMax) bytes")
        case .timedOut:
            throw PaymentsError(.certificateUnavailable, "the certificate host \(host) did not answer within \(requestTimeoutSeconds) s")
        case .failed(let error):
            throw PaymentsError(.certificateUnavailable, "the certificate could not be fetched from \(host): \(error)")
        }
    }

    /// Shuts the HTTP client down; safe to call more than once.
    public func shutdown() async {
        try? await httpClient.shutdown()
    }
}
