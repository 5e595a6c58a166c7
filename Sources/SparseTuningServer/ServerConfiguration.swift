// ServerConfiguration: everything `sparse-tune serve` can set about the HTTP server, with its defaults.
import SparseTuning

/// Address, limits and batching of an ``InferenceServer``.
public struct ServerConfiguration: Sendable {
    /// Address to listen on (loopback by default: the repository endpoints load files named by the client).
    public var host: String
    /// Port; 0 picks a free one (see ``InferenceServer/run(onListening:)``).
    public var port: Int
    /// How requests are batched and how many may wait.
    public var batching: BatcherLimits
    /// Largest request body accepted (413 above it).
    public var maxBodyBytes: Int
    /// Time a request may wait in the queue before it is answered 504.
    public var timeout: Duration
    /// Seconds clients are told to wait (`Retry-After`) when the queue is full.
    public var retryAfterSeconds: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, batching: BatcherLimits = BatcherLimits(),
                maxBodyBytes: Int = 32 << 20, timeout: Duration = .seconds(30), retryAfterSeconds: Int = 1) {
        self.host = host
        self.port = port
        self.batching = batching
        self.maxBodyBytes = maxBodyBytes
        self.timeout = timeout
        self.retryAfterSeconds = retryAfterSeconds
    }
}
