import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Runs one HTTP exchange, head and body, within a time limit and a body size limit.
///
/// The client's own deadline stops once the response head arrives, so the body is read inside a race with a
/// timer too: a server that sends headers and then stalls must not hold us either.
enum HTTPExchange {
    /// What came back, or why nothing usable did.
    enum Outcome {
        case answered(status: Int, body: Data)
        case tooLarge
        case timedOut
        case failed(any Error)
    }

    /// Why a provider call got no usable answer, for the adapter to turn into its own error code.
    enum Problem {
        /// The body was larger than allowed: the answer cannot be the one expected.
        case responseTooLarge
        /// The provider did not answer in time or could not be reached.
        case unavailable
    }

    static func run(_ request: HTTPClientRequest, on httpClient: HTTPClient, timeoutSeconds: Int64, bodyBytesMax: Int) async -> Outcome {
        let deadline = NIODeadline.now() + .seconds(timeoutSeconds)
        let result: Result<(Int, Data), any Error>? = await withTaskGroup(of: Result<(Int, Data), any Error>?.self) { group in
            group.addTask {
                do {
                    let response = try await httpClient.execute(request, deadline: deadline)
                    let buffer = try await response.body.collect(upTo: bodyBytesMax)
                    return .success((Int(response.status.code), Data(buffer: buffer)))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                // Whether it wakes or is cancelled, the timer yields nil; it only matters when it comes first.
                try? await Task.sleep(for: .seconds(timeoutSeconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch result {
        case .none: return .timedOut
        case .success(let (status, body)): return .answered(status: status, body: body)
        case .failure(let error) where error is NIOTooManyBytesError: return .tooLarge
        case .failure(let error): return .failed(error)
        }
    }

    /// Runs a provider call named `action` (e.g. `POST /v1/refunds`) and returns its status and body, whatever
    /// the status; anything else becomes the adapter's error, built by `failure` from a shared message.
    static func answer<Failure: Error>(
        _ request: HTTPClientRequest,
        action: String,
        on httpClient: HTTPClient,
        timeoutSeconds: Int64,
        bodyBytesMax: Int,
        failure: (Problem, String) -> Failure
    ) async throws(Failure) -> (status: Int, body: Data) {
        switch await run(request, on: httpClient, timeoutSeconds: timeoutSeconds, bodyBytesMax: bodyBytesMax) {
        case .answered(let status, let body):
            return (status, body)
        case .tooLarge:
            throw failure(.responseTooLarge, "\(action) answered with more than \(bodyBytesMax) bytes")
        case .timedOut:
            throw failure(.unavailable, "\(action) did not complete within \(timeoutSeconds) s")
        case .failed(let error):
            throw failure(.unavailable, "\(action) could not be completed: \(error)")
        }
    }
}
