// `sparse-tune serve`: one frozen backbone loaded once, task files served on it over HTTP (Open Inference Protocol,
// docs/SERVING.md) until SIGTERM or SIGINT, which stop it gracefully (queued requests are answered first).
import ArgumentParser
import Dispatch
import Foundation
import Logging
import SparseTuning
import SparseTuningServer
import Synchronization
import UnixSignals

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve task files on one shared backbone over HTTP (Open Inference Protocol / KServe v2).")

    @Option(name: .customLong("weights"), help: "Backbone checkpoint (.safetensors, Google .npz, or a Hugging Face ViT directory); repeat to layer files. Task files go in --task.")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("task"), help: "A task to serve, NAME=task.safetensors; repeat for several (more can be loaded at run time through /v2/repository).")
    var tasks: [String] = []
    @Option(help: "Address to listen on (the repository endpoints load files the client names: keep it on loopback or behind a proxy).")
    var host = "127.0.0.1"
    @Option(help: "Port (0 = a free one, printed at start).")
    var port = 8080
    @Option(name: .customLong("max-batch"), help: "Most images in one forward pass.")
    var maxBatch = 8
    @Option(name: .customLong("max-wait-ms"), help: "Longest wait of a request for others to join its batch (ms).")
    var maxWaitMs = 5.0
    @Option(help: "Most requests waiting; more are answered 503 with Retry-After.")
    var queue = 64
    @Option(name: .customLong("max-body-mb"), help: "Largest request body (MiB); larger ones are answered 413.")
    var maxBodyMB = 32.0
    @Option(name: .customLong("timeout-s"), help: "Longest wait of a request in the queue (s); then it is answered 504.")
    var timeoutS = 30.0
    @Option(name: .customLong("log-level"), help: "trace, debug, info (one line per request), notice, warning or error.")
    var logLevel = "info"
    @Flag(name: .customLong("print-openapi"), help: "Print the OpenAPI document of the HTTP API and exit.")
    var printOpenAPI = false

    func run() throws {
        if printOpenAPI {
            print(OpenAPIDocument.json)
            return
        }
        let config = try serverConfiguration()
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw SparseTuningError("--log-level '\(logLevel)' is not valid; expected trace, debug, info, notice, warning or error")
        }
        guard !weights.isEmpty else { throw SparseTuningError("serve needs --weights BACKBONE") }
        let specs = try tasks.map(parseTask)
        let built = try buildModel(model, weights: weights)
        if let file = built.taskFile, let task = built.task, !task.tuning.trainsBackbone {
            // A full fine-tune is a whole network and may serve as the backbone; a task of adapters is served with --task.
            throw SparseTuningError("\(file) is a \(task.tuning.method.rawValue) task file: give it as --task NAME=\(file) "
                + "(--weights is the shared backbone)")
        }
        let registry = TaskRegistry(backbone: built.model.backbone, precision: try model.parsedPrecision())
        for (name, path) in specs {
            let task = try registry.load(name, path: path)
            note("loaded task \(name) from \(path): \(task.config.tuning.method.rawValue), \(task.classes) classes, \(task.imageSize)×\(task.imageSize) input")
        }
        var logger = Logger(label: "sparse-tune.serve") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        let server = InferenceServer(registry: registry, configuration: config, logger: logger)
        let host = config.host
        try runBlocking {
            try await server.run(gracefulShutdownSignals: [.sigterm, .sigint]) { port in
                note("serving \(registry.tasks.count) task(s) on http://\(host):\(port) (GET /openapi.json for the API)")
            }
        }
        note("stopped")
    }

    /// The server settings from the flags (validated).
    private func serverConfiguration() throws -> ServerConfiguration {
        guard (0...65535).contains(port) else { throw SparseTuningError("--port must be in 0...65535 (got \(port))") }
        guard maxBatch > 0 else { throw SparseTuningError("--max-batch must be positive (got \(maxBatch))") }
        guard maxWaitMs >= 0, maxWaitMs.isFinite else { throw SparseTuningError("--max-wait-ms must be ≥ 0 (got \(maxWaitMs))") }
        guard queue > 0 else { throw SparseTuningError("--queue must be positive (got \(queue))") }
        guard maxBodyMB > 0, maxBodyMB <= 4096 else { throw SparseTuningError("--max-body-mb must be in (0, 4096] (got \(maxBodyMB))") }
        guard timeoutS > 0, timeoutS.isFinite else { throw SparseTuningError("--timeout-s must be positive (got \(timeoutS))") }
        return ServerConfiguration(host: host, port: port,
                                   batching: BatcherLimits(maxBatch: maxBatch, maxWait: .microseconds(Int64(maxWaitMs * 1000)), queueCapacity: queue),
                                   maxBodyBytes: Int(maxBodyMB * 1_048_576), timeout: .milliseconds(Int64(timeoutS * 1000)))
    }

    /// NAME=PATH.
    private func parseTask(_ spec: String) throws -> (String, String) {
        guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex, spec.index(after: eq) != spec.endIndex else {
            throw SparseTuningError("--task '\(spec)' is not NAME=task.safetensors")
        }
        let name = String(spec[..<eq])
        guard TaskRegistry.isValidName(name) else {
            throw SparseTuningError("--task '\(spec)': name '\(name)' is not valid (1 to 64 letters, digits, '-', '_' or '.')")
        }
        return (name, String(spec[spec.index(after: eq)...]))
    }
}

/// Runs `body` to completion from synchronous code (the command's `run`), rethrowing its error.
private func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    let failure = Mutex<(any Error)?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do { try await body() } catch { failure.withLock { $0 = error } }
        done.signal()
    }
    done.wait()
    if let error = failure.withLock({ $0 }) { throw error }
}
