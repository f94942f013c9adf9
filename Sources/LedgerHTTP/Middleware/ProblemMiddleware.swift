import Foundation
import LedgerCore
import HTTPTypes
import Hummingbird
import LedgerService
import Logging

/// Turns every error into an `application/problem+json` response; unknown errors become a logged 500. Under
/// `/console` (pages for a person, not API) the answer is a page with a sentence instead, but for a 503, which stays
/// the problem every client knows.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    /// Every route, so a known path asked with another method answers 405 with `Allow`.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.allowedMethods(path: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else {
                return Self.answer(Self.problem(for: error, request: request, context: context), request, context)
            }
            let allow = allowed.sorted().joined(separator: ", ")
            return Self.answer(Problem(
                .methodNotAllowed, "method-not-allowed", title: "Method Not Allowed",
                detail: "\(request.method.rawValue) is not allowed here; use \(allow)", headers: [.allow: allow]
            ), request, context)
        } catch {
            return Self.answer(Self.problem(for: error, request: request, context: context), request, context)
        }
    }

    /// The problem as the client is answered: a page under `/console` (but for a 503), else the problem document.
    static func answer(_ problem: Problem, _ request: Request, _ context: Context) -> Response {
        let path = request.uri.path
        guard path == "/console" || path.hasPrefix("/console/"), problem.status != .serviceUnavailable else {
            return problem.response(requestID: context.requestID)
        }
        let (title, message) = consoleWords(for: problem)
        var response = ConsolePage.plainMessage(status: problem.status, title: title, message: message)
        for field in problem.headers { response.headers.append(field) }
        return response
    }

    /// The title and sentence of a console page for `problem`. A request past the body limit is told the limit; a
    /// 413 of another cause (a read past one of the store's limits) keeps what it says.
    static func consoleWords(for problem: Problem) -> (title: String, message: String) {
        if problem.status == .notFound { return (problem.title, "There is no page at that address in the console.") }
        if problem.status == .contentTooLarge, let limit = problem.limitBytes {
            return (
                "What was sent is too large",
                "What was sent is larger than the console takes at once, which is at most \(ConsoleWords.size(limit)). Nothing was saved: shorten what you typed and send it again."
            )
        }
        return (problem.title, ConsoleWords.sentence(problem.detail))
    }

    static func problem(for error: any Error, request: Request, context: Context) -> Problem {
        if let failure = ServiceFailure.describing(error) {
            return problem(for: failure, error: error, context: context)
        }
        switch error {
        case let problem as Problem:
            return problem
        case let error as HTTPError:
            return problem(for: error)
        case let error as DomainError:
            return problem(for: error)
        case let error as PaymentServiceError:
            return problem(for: error, context: context)
        case let error as DirectoryEndpointError:
            let status: HTTPResponse.Status = switch error.code {
            case .notFound: .notFound
            case .rotating: .conflict
            case .invalidRequest: .unprocessableContent
            }
            return Problem(status, error.code.rawValue, title: status.reasonPhrase, detail: error.description)
        case is DecodingError:
            return .badRequest("the JSON body does not match the expected shape: \(error)")
        default:
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return .internalError()
        }
    }

    static func problem(for error: HTTPError) -> Problem {
        switch error.status {
        case .notFound:
            return .notFound("no route matches this path")
        case .contentTooLarge:
            return Problem(.contentTooLarge, "content-too-large", title: "Request body too large", detail: error.body ?? "the request body is too large")
        default:
            let slug = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "-")
            return Problem(error.status, slug, title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase, headers: error.headers)
        }
    }

    static func problem(for error: DomainError) -> Problem {
        let status: HTTPResponse.Status = switch error {
        case .profileNotFound, .waiverNotFound, .allocationNotFound: .notFound
        case .profileAlreadyRegistered, .invalidCertificationChange, .paymentAlreadyAllocated: .conflict
        case .invalidAmount, .currencyMismatch, .invalidArgument, .invalidDateRange, .outOfBounds, .amountOverLimit: .unprocessableContent
        }
        return Problem(status, error.code, title: status.reasonPhrase, detail: error.description)
    }

    static func problem(for error: PaymentServiceError, context: Context) -> Problem {
        let status: HTTPResponse.Status = switch error.code {
        case .notConfigured: .serviceUnavailable
        case .invalidRequest, .idempotencyKeyReused: .unprocessableContent
        case .paymentNotFound: .notFound
        case .notRefundable, .inProgress, .notCorrectable, .likelyDuplicate: .conflict
        case .providerFailed: .badGateway
        }
        if error.code == .providerFailed {
            context.logger.warning("payment provider failed", metadata: ["error": "\(error)"])
        }
        return Problem(status, error.code.rawValue, title: status.reasonPhrase, detail: error.description)
    }

    /// The answer to a store or adapter failure, as LedgerService describes it.
    static func problem(for failure: ServiceFailure, error: any Error, context: Context) -> Problem {
        if failure.isLogged {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "code": "\(failure.code)"])
        }
        let status: HTTPResponse.Status = switch failure.kind {
        case .badRequest: .badRequest
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unprocessable: .unprocessableContent
        case .unavailable: .serviceUnavailable
        case .defect: .internalServerError
        }
        if failure.kind == .defect { return .internalError() }
        return Problem(status, failure.code, title: failure.title, detail: failure.detail)
    }
}
