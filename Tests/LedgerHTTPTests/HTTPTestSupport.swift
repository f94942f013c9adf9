import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerHTTP
import LedgerService
import NIOCore
import TestSupport

/// Starts the real server on a loopback port for `backend` and runs `body` with a client and the runtime.
func withLiveServer<Result: Sendable>(
    _ backend: Backend,
    bodyBytesMax: Int = 64 * 1024,
    _ body: @Sendable (any TestClientProtocol, LedgerRuntime) async throws -> Result
) async throws -> Result {
    let runtime = try await TestRuntime.make(backend, bodyBytesMax: bodyBytesMax)
    do {
        let result = try await buildApplication(runtime: runtime).test(.live) { client in
            try await body(client, runtime)
        }
        await runtime.close()
        return result
    } catch {
        await runtime.close()
        throw error
    }
}

extension TestResponse {
    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    var text: String { String(buffer: body) }
}

/// Authorization headers for a key.
func bearer(_ key: String) -> HTTPFields {
    [.authorization: "Bearer \(key)"]
}

import NIOFoundationCompat
