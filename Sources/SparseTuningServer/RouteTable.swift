// RouteTable: registers handlers on the Hummingbird router under OpenAPI-style path templates
// (`/v2/models/{task}`) and remembers each one, so the served routes can be listed and checked against the
// OpenAPI document.
import Hummingbird

/// A handler of one route.
typealias RouteHandler = @Sendable (Request, BasicRequestContext) async throws -> Response

/// The router being built and the routes put on it.
struct RouteTable {
    let router = Router(context: BasicRequestContext.self)
    /// "GET /v2/models/{task}", … in registration order.
    private(set) var routes: [String] = []

    /// Serves `handler` at `method` `template`, whose `{name}` segments are path parameters.
    mutating func add(_ method: HTTPRequest.Method, _ template: String, _ handler: @escaping RouteHandler) {
        let path = template.split(separator: "/").map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
        router.on(RouterPath(path), method: method, use: handler)
        routes.append("\(method.rawValue) \(template)")
    }
}

extension BasicRequestContext {
    /// The path parameter `name` (always present on a route that declares it).
    func parameter(_ name: String) throws -> String {
        guard let value = parameters.get(name) else { throw APIError(.badRequest, "missing path parameter '\(name)'") }
        return value
    }
}
