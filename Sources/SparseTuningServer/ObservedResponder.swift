// ObservedResponder: wraps the router so every request — routed or not — gets a request id (the client's
// X-Request-Id, else a new one), errors as {"error": "…"} JSON with their status, a Prometheus count and latency by
// task and status, and one structured log line.
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SparseTuning
import Synchronization

/// The server's outermost responder.
struct ObservedResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    let inner: Inner
    let metrics: ServerMetrics
    let registry: TaskRegistryView
    let logger: Logger
    let retryAfterSeconds: Int
    let counter: RequestCounter

    static var requestIDField: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let id = request.headers[Self.requestIDField].flatMap(Self.sanitized) ?? counter.next()
        var response: Response
        var failure: String?
        do {
            response = try await inner.respond(to: request, context: context)
        } catch {
            let apiError = APIError.from(error, retryAfterSeconds: retryAfterSeconds)
            failure = apiError.message
            response = apiError.response()
        }
        response.headers[Self.requestIDField] = id
        let elapsed = ContinuousClock.now - start
        let task = registry.knownTask(inPath: request.uri.path) ?? "-"
        metrics.request(task: task, status: response.status.code, duration: elapsed)
        var metadata: Logger.Metadata = ["request_id": "\(id)", "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
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

/// What the responder needs of the registry: the task a path names, if it is one the registry knows (so unknown
/// names cannot grow the metrics' label sets).
struct TaskRegistryView: Sendable {
    let registry: TaskRegistry

    func knownTask(inPath path: String) -> String? {
        let parts = path.split(separator: "/").map(String.init)
        let name: String?
        switch parts.count {
        case 3... where parts[0] == "v2" && parts[1] == "models": name = parts[2]
        case 3... where parts[0] == "v1" && parts[1] == "tasks": name = parts[2]
        case 4... where parts[0] == "v2" && parts[1] == "repository" && parts[2] == "models": name = parts[3]
        default: name = nil
        }
        guard let name, registry.entries.contains(where: { $0.name == name }) else { return nil }
        return name
    }
}
