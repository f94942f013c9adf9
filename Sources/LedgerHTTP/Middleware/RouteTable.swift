import HTTPTypes
import Synchronization

/// The methods each routed path answers, so a known path asked with another method gets 405 and `Allow`
/// instead of Hummingbird's 404.
///
/// Filled once, after every route is registered (``buildRouter(runtime:)``), and only read after that.
final class RouteTable: Sendable {
    private struct Route {
        /// Path segments; `nil` is a parameter (`{profileId}`) that matches any one segment.
        var segments: [String?]
        var methods: Set<String>
    }

    private let routes = Mutex<[Route]>([])

    /// Records the routes as Hummingbird describes them (`/api/v1/profiles/{profileId}` and a method).
    func load(_ described: [(path: String, method: HTTPRequest.Method)]) {
        var byPath: [String: Route] = [:]
        for (path, method) in described {
            let segments: [String?] = path.split(separator: "/").map { $0.hasPrefix("{") ? nil : String($0) }
            byPath[path, default: Route(segments: segments, methods: [])].methods.insert(method.rawValue)
        }
        routes.withLock { $0 = Array(byPath.values) }
    }

    /// The methods allowed on `path`, or an empty set when no route has that path.
    func allowedMethods(path: String) -> Set<String> {
        let requested = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.withLock { routes in
            routes.reduce(into: Set<String>()) { allowed, route in
                guard route.segments.count == requested.count else { return }
                let matches = zip(route.segments, requested).allSatisfy { expected, given in expected.map { $0 == given } ?? true }
                if matches { allowed.formUnion(route.methods) }
            }
        }
    }
}
