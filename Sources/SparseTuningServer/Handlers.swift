// Handlers: what each route does. The Open Inference Protocol (KServe v2): server and model metadata, health,
// inference with the classification extension, the model repository; plus `/v1/tasks/{task}/predict` for a raw
// image, `/metrics` and `/openapi.json`.
import Foundation
import Hummingbird
import SparseTuning

/// The route handlers and what they share.
struct Handlers: Sendable {
    let registry: TaskRegistry
    let batcher: Batcher
    let metrics: ServerMetrics
    let configuration: ServerConfiguration

    func register(on table: inout RouteTable) {
        table.add(.get, "/v2") { _, _ in
            try jsonResponse(ServerMetadata(name: "sparse-tune", version: SparseTuningVersion.string,
                                            extensions: ["classification", "model_repository"]))
        }
        table.add(.get, "/v2/health/live") { _, _ in try jsonResponse(["live": true]) }
        table.add(.get, "/v2/health/ready") { _, _ in try jsonResponse(["ready": true]) }
        table.add(.get, "/v2/models/{task}") { _, context in try modelMetadata(try loaded(context)) }
        table.add(.get, "/v2/models/{task}/ready") { _, context in
            let task = try loaded(context)
            return try jsonResponse(ModelReady(name: task.name, ready: true))
        }
        table.add(.post, "/v2/models/{task}/infer") { request, context in try await infer(request, task: try loaded(context)) }
        table.add(.post, "/v1/tasks/{task}/predict") { request, context in try await predict(request, task: try loaded(context)) }
        table.add(.post, "/v2/repository/index") { request, _ in try await repositoryIndex(request) }
        table.add(.post, "/v2/repository/models/{task}/load") { request, context in try await repositoryLoad(request, name: try context.parameter("task")) }
        table.add(.post, "/v2/repository/models/{task}/unload") { _, context in
            let name = try context.parameter("task")
            guard registry.unload(name) else { throw APIError(.notFound, "task '\(name)' is not loaded") }
            return try jsonResponse([String: String]())
        }
        table.add(.get, "/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        table.add(.get, "/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }

    /// The loaded task the path names (404 otherwise).
    private func loaded(_ context: BasicRequestContext) throws -> ServedTask {
        let name = try context.parameter("task")
        guard let task = registry.task(name) else {
            let known = registry.tasks.map(\.name)
            throw APIError(.notFound, "task '\(name)' is not loaded (loaded: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        return task
    }

    private func modelMetadata(_ task: ServedTask) throws -> Response {
        let s = task.imageSize
        return try jsonResponse(ModelMetadata(
            name: task.name, versions: [], platform: "sparse-tuning",
            inputs: [.init(name: "input", datatype: "FP32", shape: [-1, 3, s, s]), .init(name: "image", datatype: "BYTES", shape: [-1])],
            outputs: [.init(name: "logits", datatype: "FP32", shape: [-1, task.classes]),
                      .init(name: "probabilities", datatype: "FP32", shape: [-1, task.classes])],
            method: task.config.tuning.method.rawValue, labels: task.classNames, path: task.path))
    }

    /// The logits of `images` on `task`, through the batcher, within the server's time limit from `start`.
    private func logits(_ task: ServedTask, _ images: Tensor, start: ContinuousClock.Instant) async throws -> Tensor {
        let out = try await batcher.submit(task, images: images, deadline: start + configuration.timeout)
        guard UnsafeBufferPointer(start: out.data, count: out.count).allSatisfy(\.isFinite) else {
            throw APIError(.unprocessableContent, "the input gives non-finite logits (values far outside the normalised range?)")
        }
        return out
    }

    private func infer(_ request: Request, task: ServedTask) async throws -> Response {
        let start = ContinuousClock.now
        guard let body = try await request.decodeInferRequest(limit: configuration.maxBodyBytes) else {
            throw APIError(.badRequest, "the request body is empty")
        }
        guard let input = body.inputs.first else { throw APIError(.badRequest, "the request has no inputs") }
        guard body.inputs.count == 1 else {
            throw APIError(.unprocessableContent, "task '\(task.name)' takes one input (FP32 'input' or BYTES 'image'), got \(body.inputs.count)")
        }
        let requested = body.outputs ?? [InferRequest.RequestedOutput(name: "logits", parameters: body.parameters)]
        for o in requested where o.name != "logits" && o.name != "probabilities" {
            throw APIError(.badRequest, "unknown output '\(o.name)'; outputs are 'logits' and 'probabilities'")
        }
        let images = try input.tensor(for: task)
        let logits = try await logits(task, images, start: start)
        let rows = logits.shape[0], k = task.classes
        var outputs: [InferResponse.Output] = []
        for o in requested {
            let top = o.parameters?.classification
            if let top, top < 1 { throw APIError(.badRequest, "output '\(o.name)': classification must be a positive count (got \(top))") }
            let ranked = (0..<rows).map { task.topClasses(logits, row: $0, k: top ?? k) }
            if let top {
                let n = min(top, k)
                let strings = ranked.flatMap { row in
                    row.map { c in "\(o.name == "logits" ? Double(c.score) : c.probability):\(c.index):\(c.label)" }
                }
                outputs.append(.init(name: o.name, shape: [rows, n], datatype: "BYTES", data: .strings(strings)))
            } else if o.name == "logits" {
                outputs.append(.init(name: o.name, shape: [rows, k], datatype: "FP32", data: .numbers(logits.values.map(Double.init))))
            } else {
                var probabilities = [Double](repeating: 0, count: rows * k)
                for (r, row) in ranked.enumerated() { for c in row { probabilities[r * k + c.index] = c.probability } }
                outputs.append(.init(name: o.name, shape: [rows, k], datatype: "FP32", data: .numbers(probabilities)))
            }
        }
        return try jsonResponse(InferResponse(modelName: task.name, id: body.id, outputs: outputs))
    }

    private func predict(_ request: Request, task: ServedTask) async throws -> Response {
        let start = ContinuousClock.now
        try request.requireMediaType(["image/jpeg", "image/png", "application/octet-stream"], allowMissing: false)
        var top = 5
        if let text = request.uri.queryParameters.get("top") {
            guard let n = Int(text), n >= 1 else { throw APIError(.badRequest, "query parameter top must be a positive integer (got '\(text)')") }
            top = n
        }
        let bytes = try await request.bodyBytes(limit: configuration.maxBodyBytes)
        let images: Tensor
        do {
            images = try task.inputs(encoded: [bytes], names: ["request body"])
        } catch let e as SparseTuningError {
            throw APIError(.badRequest, e.message)
        }
        let logits = try await logits(task, images, start: start)
        return try jsonResponse(PredictResponse(task: task.name, top: task.topClasses(logits, row: 0, k: min(top, task.classes))))
    }

    private func repositoryIndex(_ request: Request) async throws -> Response {
        let filter = try await request.decodeJSON(RepositoryIndexRequest.self, limit: configuration.maxBodyBytes, allowEmpty: true)
        let entries = registry.entries.filter { filter?.ready != true || $0.ready }
        return try jsonResponse(entries.map { RepositoryEntry(name: $0.name, state: $0.ready ? "READY" : "UNAVAILABLE", reason: $0.reason ?? "") })
    }

    private func repositoryLoad(_ request: Request, name: String) async throws -> Response {
        let body = try await request.decodeJSON(RepositoryLoadRequest.self, limit: configuration.maxBodyBytes, allowEmpty: true)
        let path = body?.parameters?.path
        guard path != nil || registry.entries.contains(where: { $0.name == name }) else {
            throw APIError(.notFound, "task '\(name)' is not known; give its task file as {\"parameters\": {\"path\": \"task.safetensors\"}}")
        }
        let registry = self.registry
        do {
            // Reading and checking a task file takes a while: off the event loop.
            _ = try await Task.detached { try registry.load(name, path: path) }.value
        } catch let e as SparseTuningError {
            throw APIError(.badRequest, e.message)
        }
        return try jsonResponse([String: String]())
    }
}

/// `GET /v2/models/{task}/ready`.
struct ModelReady: Codable, Sendable {
    var name: String
    var ready: Bool
}
