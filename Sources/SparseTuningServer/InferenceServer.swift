// InferenceServer: the HTTP server of `sparse-tune serve` on Hummingbird 2 — the routes of the Open Inference
// Protocol and the others (docs/SERVING.md), the batcher every inference goes through, and a run that stops
// gracefully: on shutdown it stops accepting connections, answers what is in flight, then drains the batcher.
import Hummingbird
import Logging
import ServiceLifecycle
import SparseTuning
import Synchronization
import UnixSignals

/// A server of the tasks in a ``TaskRegistry``.
public final class InferenceServer: Sendable {
    public let registry: TaskRegistry
    public let configuration: ServerConfiguration
    /// Every route served, as "METHOD /path/{param}" (the OpenAPI document lists the same).
    public let routes: [String]
    let batcher: Batcher
    let metrics: ServerMetrics
    let logger: Logger
    private let responder: RouterResponder<BasicRequestContext>
    private let group = Mutex<ServiceGroup?>(nil)

    public init(registry: TaskRegistry, configuration: ServerConfiguration, logger: Logger = Logger(label: "sparse-tune.serve")) {
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        let metrics = ServerMetrics()
        self.metrics = metrics
        self.batcher = Batcher(limits: configuration.batching, observer: metrics.batcherObserver)
        var table = RouteTable()
        table.router.add(middleware: ObservingMiddleware(metrics: metrics, registry: TaskRegistryView(registry: registry), logger: logger,
                                                         retryAfterSeconds: configuration.retryAfterSeconds, counter: RequestCounter()))
        let handlers = Handlers(registry: registry, batcher: batcher, metrics: metrics, configuration: configuration)
        handlers.register(on: &table)
        routes = table.routes
        responder = table.router.buildResponder()
    }

    /// Serves until a signal in `gracefulShutdownSignals` arrives or ``shutdownGracefully()`` is called, then stops
    /// accepting connections, finishes the requests in flight and the queue, and returns. `onListening` gets the
    /// bound port (the free one picked for port 0).
    public func run(gracefulShutdownSignals: [UnixSignal] = [], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let port = configuration.port
        let app = Application(responder: responder,
                              server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
                              configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: port), serverName: "sparse-tune"),
                              onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
                              logger: logger)
        let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: gracefulShutdownSignals,
                                                                                 logger: logger))
        group.withLock { $0 = serviceGroup }
        defer { group.withLock { $0 = nil } }
        do {
            try await serviceGroup.run()
        } catch {
            await batcher.shutdown()
            throw error
        }
        await batcher.shutdown()
    }

    /// Starts the graceful stop of a running server (as SIGTERM does).
    public func shutdownGracefully() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }
}
