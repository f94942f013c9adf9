import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Runs one HTTP exchange, head and body, within a time limit.
///
/// The client's own deadline stops once the response head arrives, so the body is read inside a race with a
/// timer too: a server that sends headers and then stalls must not hold us either.
enum PayPalExchange {
    /// What came back, or why nothing usable did.
    enum Outcome {
        case answered(status: Int, body: Data)
        case tooLarge
        case timedOut
        case failed(any Error)
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
}
