// Batcher: the request queue of a server. Requests wait in one bounded FIFO queue; a worker thread takes the
// oldest one and, within `maxWait` of its arrival, gathers up to `maxBatch` images of requests that may share its
// forward pass (equal ``ServedTask/batchKey``), runs them in one pass and answers each with its own logits. A lone
// request after a lone batch (a client that waits for each answer) runs at once instead of waiting `maxWait`.
// One batch runs at a time: a pass already uses every compute thread.
import CDNNL
import Foundation

/// How the ``Batcher`` groups and bounds requests.
public struct BatcherLimits: Sendable, Equatable {
    /// Most images in one forward pass (a request larger than this runs alone).
    public var maxBatch: Int
    /// Longest time the oldest request waits for others to join its batch.
    public var maxWait: Duration
    /// Most requests waiting (not yet running); more are refused with ``BatcherError/queueFull(capacity:)``.
    public var queueCapacity: Int

    public init(maxBatch: Int = 8, maxWait: Duration = .milliseconds(5), queueCapacity: Int = 64) {
        self.maxBatch = maxBatch
        self.maxWait = maxWait
        self.queueCapacity = queueCapacity
    }
}

/// Why the ``Batcher`` did not run a request.
public enum BatcherError: Error, Equatable, CustomStringConvertible {
    /// The queue holds `capacity` requests already.
    case queueFull(capacity: Int)
    /// The batcher is draining or stopped.
    case shuttingDown
    /// The request was still waiting at its deadline.
    case timedOut

    public var description: String {
        switch self {
        case .queueFull(let capacity): return "the request queue is full (\(capacity) waiting); retry later"
        case .shuttingDown: return "the server is shutting down"
        case .timedOut: return "the request waited past its time limit in the queue"
        }
    }
}

/// What the ``Batcher`` reports as it works (for metrics); called on its worker thread.
public struct BatcherObserver: Sendable {
    /// After each forward pass: the images and requests it held, and its duration.
    public var batchRan: @Sendable (_ images: Int, _ requests: Int, _ duration: Duration) -> Void
    /// Whenever the number of waiting requests changes.
    public var queueDepth: @Sendable (_ waiting: Int) -> Void

    public init(batchRan: @escaping @Sendable (Int, Int, Duration) -> Void = { _, _, _ in },
                queueDepth: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.batchRan = batchRan
        self.queueDepth = queueDepth
    }
}

/// Batches requests across tasks sharing a backbone; safe from several threads and tasks.
public final class Batcher: Sendable {
    public let limits: BatcherLimits
    private let observer: BatcherObserver
    private let queue: RequestQueue

    /// Starts the worker thread; ``shutdown()`` finishes the queued requests and stops it.
    public init(limits: BatcherLimits, observer: BatcherObserver = BatcherObserver()) {
        precondition(limits.maxBatch > 0 && limits.queueCapacity > 0, "batcher limits must be positive: \(limits)")
        self.limits = limits
        self.observer = observer
        self.queue = RequestQueue()
        let thread = Thread { [queue, limits, observer] in Batcher.work(queue, limits, observer) }
        thread.name = "sparse-tuning batcher"
        thread.start()
    }

    /// A batcher dropped without ``shutdown()`` lets its worker finish the queue and stop.
    deinit {
        queue.locked { $0.accepting = false }
        queue.condition.broadcast()
    }

    /// Requests waiting to run.
    public var waiting: Int { queue.locked { $0.pending.count } }

    /// The logits (B, K) of `images` (B, 3, S, S) on `task`, computed in a batch with whatever requests of the
    /// same batch key arrive within ``BatcherLimits/maxWait``.
    ///
    /// - Throws: ``BatcherError`` when the queue is full, the batcher is shutting down or `deadline` passes before
    ///   the request runs; the model's ``SparseTuningError`` for a malformed input.
    public func submit(_ task: ServedTask, images: Tensor, deadline: ContinuousClock.Instant) async throws -> Tensor {
        try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Tensor, any Error>) in
            let request = PendingRequest(task: task, images: images, key: task.batchKey, arrived: .now, deadline: deadline, reply: reply)
            let refusal: BatcherError? = queue.locked { s in
                guard s.accepting else { return .shuttingDown }
                guard s.pending.count < limits.queueCapacity else { return .queueFull(capacity: limits.queueCapacity) }
                s.pending.append(request)
                return nil
            }
            if let refusal { reply.resume(throwing: refusal); return }
            queue.condition.signal()
            observer.queueDepth(waiting)
        }
    }

    /// Stops accepting requests, runs every queued one, and returns once the worker has stopped.
    public func shutdown() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let finished = queue.locked { s -> Bool in
                s.accepting = false
                if s.stopped { return true }
                s.onStop.append(done)
                return false
            }
            queue.condition.broadcast()
            if finished { done.resume() }
        }
    }

    // MARK: The worker

    private static func work(_ queue: RequestQueue, _ limits: BatcherLimits, _ observer: BatcherObserver) {
        while let batch = nextBatch(queue, limits, observer) {
            observer.queueDepth(queue.locked { $0.pending.count })
            // OpenMP's thread count is per calling thread: this one follows `Compute.threads` (--threads) as the
            // thread that set it does.
            omp_set_num_threads(Int32(Compute.threads))
            let start = ContinuousClock.now
            do {
                let logits = try TunedViT.forward(batch: batch.map { (model: $0.task.model, images: $0.images) })
                for (request, out) in zip(batch, logits) { request.reply.resume(returning: out) }
            } catch {
                // One pass failed (a malformed input): run each request alone so only the bad one fails.
                for request in batch {
                    do { request.reply.resume(returning: try request.task.model.forward(request.images)) }
                    catch { request.reply.resume(throwing: error) }
                }
            }
            observer.batchRan(batch.reduce(0) { $0 + $1.rows }, batch.count, ContinuousClock.now - start)
        }
        let waiters = queue.locked { s -> [CheckedContinuation<Void, Never>] in
            s.stopped = true
            defer { s.onStop.removeAll() }
            return s.onStop
        }
        for w in waiters { w.resume() }
    }

    /// Waits for the next batch: the oldest request and the later ones of its key that fit in `maxBatch` images,
    /// once that many are waiting or the oldest has waited `maxWait`. Requests past their deadline are answered
    /// ``BatcherError/timedOut``. Nil once the batcher is shut down and the queue is empty.
    private static func nextBatch(_ queue: RequestQueue, _ limits: BatcherLimits, _ observer: BatcherObserver) -> [PendingRequest]? {
        queue.condition.lock()
        defer { queue.condition.unlock() }
        while true {
            while queue.state.pending.isEmpty {
                guard queue.state.accepting else { return nil }
                queue.condition.wait()
            }
            let now = ContinuousClock.now
            let expired = queue.state.pending.filter { $0.deadline <= now }
            if !expired.isEmpty {
                queue.state.pending.removeAll { $0.deadline <= now }
                for r in expired { r.reply.resume(throwing: BatcherError.timedOut) }
                continue
            }
            let first = queue.state.pending[0]
            let ready = queue.state.pending.lazy.filter { $0.key == first.key }.reduce(0) { $0 + $1.rows } >= limits.maxBatch
            let due = first.arrived + limits.maxWait
            // A lone request after a lone request (a client waiting for each answer) has no one to wait for.
            let lone = queue.state.pending.count == 1 && queue.state.lastBatchRequests == 1
            if !ready && !lone && now < due && queue.state.accepting {
                // Wake when the batch is due, or earlier when a request's deadline passes first.
                let wake = queue.state.pending.reduce(due) { min($0, $1.deadline) } - now
                let seconds = Double(wake.components.seconds) + Double(wake.components.attoseconds) / 1e18
                _ = queue.condition.wait(until: Date(timeIntervalSinceNow: seconds))
                continue
            }
            var batch: [PendingRequest] = [], rows = 0, taken = IndexSet()
            for (i, r) in queue.state.pending.enumerated() where r.key == first.key {
                guard batch.isEmpty || rows + r.rows <= limits.maxBatch else { continue }
                batch.append(r)
                rows += r.rows
                taken.insert(i)
                if rows >= limits.maxBatch { break }
            }
            queue.state.pending = queue.state.pending.enumerated().filter { !taken.contains($0.offset) }.map(\.element)
            queue.state.lastBatchRequests = batch.count
            return batch
        }
    }
}

/// A request waiting in the queue.
private struct PendingRequest: @unchecked Sendable {
    let task: ServedTask
    let images: Tensor
    let key: String
    let arrived: ContinuousClock.Instant
    let deadline: ContinuousClock.Instant
    let reply: CheckedContinuation<Tensor, any Error>
    var rows: Int { images.shape.first ?? 0 }
}

/// The queue's state behind one condition variable (the worker sleeps on it).
private final class RequestQueue: @unchecked Sendable {
    struct State {
        var pending: [PendingRequest] = []
        var accepting = true
        var stopped = false
        /// Requests in the batch formed last (1 for a serial client: its next request is not held back).
        var lastBatchRequests = 0
        var onStop: [CheckedContinuation<Void, Never>] = []
    }
    let condition = NSCondition()
    /// Guarded by `condition`.
    var state = State()

    func locked<T>(_ body: (inout State) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(&state)
    }
}
