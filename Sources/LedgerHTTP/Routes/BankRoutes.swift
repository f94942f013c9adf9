import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerService
import NIOCore

/// Bank transfers: payment instructions for the website; statement uploads and exception resolutions for staff.
struct BankRoutes {
    let bankImport: BankStatementImport
    let configuration: LedgerConfiguration
    let now: @Sendable () -> Date
    let payments: PaymentPipeline
    let profiles: ProfileService

    func registerWebsiteRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.get("profiles/:profileId/payment-instructions") { request, context in
            let profileID = try ProfileID(try context.parameters.require("profileId"))
            guard try await profiles.load(profileID).state.isRegistered else { throw DomainError.profileNotFound(profileID.rawValue) }
            let purposeText = request.uri.queryParameters["purpose"].map(String.init) ?? "listing"
            guard let purpose = PaymentPurpose(rawValue: purposeText) else { throw Problem.badRequest("purpose must be listing or donation") }
            let amount = try request.uri.queryParameters["amount"].map { try Money(parsing: String($0), currency: "EUR") }
            return try JSONResponse(try PaymentInstructions.make(
                profileID: profileID, purpose: purpose, donationAmount: amount,
                on: profiles.policy.calendar.date(at: now()), policy: profiles.policy, configuration: configuration
            ))
        }
        // Donations from anyone: the general donation reference.
        group.get("donation-instructions") { request, _ in
            guard let text = request.uri.queryParameters["amount"].map(String.init) else { throw Problem.badRequest("amount is required, like 25.00") }
            return try JSONResponse(try PaymentInstructions.make(
                profileID: nil, purpose: .donation, donationAmount: try Money(parsing: text, currency: "EUR"),
                on: profiles.policy.calendar.date(at: now()), policy: profiles.policy, configuration: configuration
            ))
        }
    }

    /// Statement uploads: in a group of their own, whose body limit is the statement parser's file cap.
    func registerUploadRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.post("bank-statements") { request, context in
            try await Self.withUploadedStatement(request) { file in
                // A statement that cannot be read answers 422 `statement-rejected` (see ServiceFailure).
                let summary = try await bankImport.importFile(file, metadata: metadata(request, context))
                return try JSONResponse(summary, status: .created)
            }
        }
    }

    func registerStaffRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.post("reconciliation/exceptions/:paymentId/resolve") { request, context in
            struct ShareRequest: Decodable {
                var profileId: String
                var amount: String
            }
            struct ResolveRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["resolution", "profileId", "shares", "reason"]
                static let nestedFieldNames: Set<String> = ["profileId", "amount"]
                var resolution: HoldResolution
                var profileId: String?
                var shares: [ShareRequest]?
                var reason: String
            }
            let body = try await decode(ResolveRequest.self, request, context)
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            var shares = try (body.shares ?? []).map { AllocationShare(profileID: try ProfileID($0.profileId), amount: try Money(parsing: $0.amount, currency: "EUR")) }
            if let profileID = body.profileId {
                shares.append(AllocationShare(profileID: try ProfileID(profileID), amount: .euros(minorUnits: 0)))
            }
            let outcome = try await payments.resolve(
                paymentID: paymentID, resolution: body.resolution, shares: shares, reason: body.reason, metadata: metadata(request, context)
            )
            struct Resolved: Encodable {
                var paymentId: String
                var resolution: String
                var appended: [String]
            }
            guard case .recorded(let paymentEvents, let profileEvents) = outcome else { throw Problem.internalError() }
            return try JSONResponse(Resolved(
                paymentId: paymentID.rawValue, resolution: body.resolution.rawValue,
                appended: paymentEvents.map(\.typeName) + profileEvents.map(\.typeName)
            ))
        }
    }

    /// What an upload's file is called in the parser's messages ("the uploaded statement is empty; …"): the
    /// name of the temporary file it is kept in would say nothing to the person who sent it.
    static let uploadedStatementName = "the uploaded statement"

    /// Keeps the request's statement in a folder of its own, as ``uploadedStatementName``, while `body` reads it;
    /// the folder is removed after.
    static func withUploadedStatement<Answer>(_ request: Request, _ body: (URL) async throws -> Answer) async throws -> Answer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("statement-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent(uploadedStatementName)
        try await save(request, to: file)
        return try await body(file)
    }

    /// Writes the upload to `file` as it arrives: the raw body, or the first file part of a multipart form.
    static func save(_ request: Request, to file: URL) async throws {
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        for try await buffer in request.body {
            try handle.write(contentsOf: Data(buffer.readableBytesView))
        }
        guard let boundary = try MultipartBoundary.of(request.headers[.contentType]) else { return }
        try handle.close()
        let whole = try Data(contentsOf: file)
        guard let part = firstFilePart(whole, boundary: boundary) else {
            throw Problem.badRequest("the multipart upload holds no file part")
        }
        try part.write(to: file)
    }

    /// The content of the first part with a `filename`, between its blank line and the next boundary.
    static func firstFilePart(_ body: Data, boundary: String) -> Data? {
        let delimiter = Data("--\(boundary)".utf8)
        var parts: [Data] = []
        var searchFrom = body.startIndex
        var previous: Range<Data.Index>?
        while let range = body.range(of: delimiter, in: searchFrom..<body.endIndex) {
            if let previous { parts.append(body[previous.upperBound..<range.lowerBound]) }
            previous = range
            searchFrom = range.upperBound
        }
        for part in parts {
            guard let headerEnd = part.range(of: Data("\r\n\r\n".utf8)) else { continue }
            let headers = String(decoding: part[part.startIndex..<headerEnd.lowerBound], as: UTF8.self).lowercased()
            guard headers.contains("filename=") else { continue }
            var content = part[headerEnd.upperBound...]
            if content.suffix(2) == Data("\r\n".utf8) { content = content.dropLast(2) }
            return Data(content)
        }
        return nil
    }
}
