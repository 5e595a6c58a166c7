// ObservingMiddleware: the router's one middleware, so every request — routed or not (404) — gets a request id (the
// client's X-Request-Id, else a new one), errors as {"error": "…"} JSON with their status, a Prometheus count and
// latency by task and status, and one structured log line.
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SparseTuning
import Synchronization

/// Wraps every route and the not-found answer.
struct ObservingMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServerMetrics
    let registry: TaskRegistryView
    let logger: Logger
    let retryAfterSeconds: Int
    let counter: RequestCounter

    static var requestIDField: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: BasicRequestContext,
                next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = request.headers[Self.requestIDField].flatMap(Self.sanitized) ?? counter.next()
        var response: Response
        var failure: String?
        do {
            response = try await next(request, context)
        } catch {
            var apiError = APIError.from(error, retryAfterSeconds: retryAfterSeconds)
            if let e = error as? any HTTPResponseError, e.status == .notFound {
                apiError = APIError(.notFound, "no route \(request.method.rawValue) \(request.uri.path) (GET /openapi.json lists them)")
            }
            failure = apiError.message
            response = apiError.response()
        }
        response.headers[Self.requestIDField] = id
        let elapsed = ContinuousClock.now - start
        let task = context.parameters.get("task").flatMap(registry.known) ?? "-"
        metrics.request(task: task, status: response.status.code, duration: elapsed)
        var metadata: Logger.Metadata = ["request_id": "\(id)", "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "route": "\(context.endpointPath ?? "-")",
                                         "task": "\(task)", "status": "\(response.status.code)",
                                         "latency_ms": "\(String(format: "%.2f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000))"]
        if let failure { metadata["error"] = "\(failure)" }
        logger.log(level: response.status.code >= 500 ? .warning : .info, "request", metadata: metadata)
        return response
    }

    /// A client's request id, if it is 1–64 visible ASCII characters.
    private static func sanitized(_ id: String) -> String? {
        (1...64).contains(id.count) && id.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) ? id : nil
    }
}

/// Request ids of this server: a random prefix and a sequence number.
final class RequestCounter: Sendable {
    private let prefix = String(UUID().uuidString.prefix(8)).lowercased()
    private let count = Atomic<Int>(0)

    func next() -> String {
        "\(prefix)-\(count.add(1, ordering: .relaxed).newValue)"
    }
}

/// What the middleware needs of the registry: whether a task name is one it knows (so names that are not cannot
/// grow the metrics' label sets).
struct TaskRegistryView: Sendable {
    let registry: TaskRegistry

    func known(_ name: String) -> String? {
        registry.entries.contains { $0.name == name } ? name : nil
    }
}
