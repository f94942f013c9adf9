import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import TestSupport
import Testing

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    /// Every API route the router serves must be described, so new routes keep the document current. The
    /// staff console's pages (`/console…`, and `/`, which leads there) are HTML for people, not API.
    @Test
    func everyRouteIsDescribed() async throws {
        let runtime = try await TestRuntime.make(.sqlite)
        let router = buildRouter(runtime: runtime)
        let served = router.routes.filter { route in
            let path = route.path.description
            return !(path.hasPrefix("/console") || path.hasPrefix("console") || path == "/" || path.isEmpty)
        }.map { route in
            let path = route.path.description.split(separator: "/").map { segment in
                segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
            }.joined(separator: "/")
            return (method: route.method.rawValue.lowercased(), path: "/" + path)
        }
        // The runtime is closed whatever the test finds: a document that does not parse fails the test, not the run.
        let response: TestResponse
        do {
            response = try await buildApplication(runtime: runtime).test(.live) { client in try await client.execute(uri: "/openapi.json", method: .get) }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
        #expect(response.status == .ok)
        let body = response.body
        do {
            let document = try #require(try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any], "openapi.json is not a JSON object")
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            #expect(served.count >= 6)
            for route in served {
                #expect(paths[route.path]?[route.method] != nil, "\(route.method.uppercased()) \(route.path) is not in openapi.json")
            }
            // And nothing is described that is not served.
            let servedKeys = Set(served.map { "\($0.method) \($0.path)" })
            for (path, operations) in paths {
                for method in operations.keys {
                    #expect(servedKeys.contains("\(method) \(path)"), "openapi.json describes \(method.uppercased()) \(path), which is not served")
                }
            }
        }
    }

    /// Every enumeration of hold reasons in the document lists each reason a payment can be held for, and
    /// nothing else, so a client that checks answers against the document accepts every queue entry.
    @Test
    func theDocumentNamesEveryHoldReason() async throws {
        let text = try await withLiveServer(.sqlite) { client, _ in
            try await client.execute(uri: "/openapi.json", method: .get).text
        }
        let document = try JSONSerialization.jsonObject(with: Data(text.utf8))
        var lists: [[String]] = []
        func visit(_ value: Any, key: String?) {
            if let object = value as? [String: Any] {
                if key == "reasonCode", let values = object["enum"] as? [String] { lists.append(values) }
                for (name, child) in object { visit(child, key: name) }
            } else if let array = value as? [Any] {
                for child in array { visit(child, key: nil) }
            }
        }
        visit(document, key: nil)
        #expect(!lists.isEmpty)
        for list in lists {
            #expect(Set(list) == Set(HoldReason.allCases.map(\.rawValue)), "\(list)")
        }
    }
}

import NIOFoundationCompat
