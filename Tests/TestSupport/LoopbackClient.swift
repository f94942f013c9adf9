import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Requests to a server on loopback over connections of their own, so that requests sent at once reach the
/// server at once (the in-process test client sends one request at a time).
public enum LoopbackClient {
    /// POSTs `body` to `url` with `headers`; returns the status and the body as text.
    public static func post(_ url: String, headers: [(String, String)], body: String) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = try await response.body.collect(upTo: 1024 * 1024)
        return (Int(response.status.code), String(buffer: text))
    }
}
