// BatchLoader: turns samples (images (3, S, S), video clips (T, 3, S, S) or test views; see SampleLoading) into
// normalised batches for one epoch at a time — shuffled or in order, decoded, augmented and normalised on background
// threads with a bounded prefetch queue, with results identical to a single-threaded run; undecodable samples
// either end the epoch with an error or are skipped.
import Foundation

/// One batch of an epoch.
public struct Batch: Sendable {
    /// Normalised samples (B, sampleShape…): images (B, 3, S, S), training clips (B, T, 3, S, S) or the test
    /// views of videos (B, V, T, 3, S, S).
    public let images: Tensor
    /// The label of each sample.
    public let labels: [Int]
    /// The source index of each sample.
    public let indices: [Int]
    /// Position of the batch in its epoch (0, 1, …).
    public let number: Int
    /// The epoch it belongs to.
    public let epoch: Int

    /// Number of samples B (the last batch of an epoch may be smaller unless `dropLast`).
    public var count: Int { labels.count }
}

/// A sample left out of its epoch because it could not be loaded (with `skipBadImages`).
public struct SkippedImage: Sendable, Equatable {
    /// The epoch in which it was skipped.
    public let epoch: Int
    /// Its index in the source.
    public let index: Int
    /// The source's description of it (usually the file path).
    public let source: String
    /// Why it could not be loaded.
    public let message: String
}

/// Iterates the batches of a ``SampleLoading`` (an ``ImageSource`` through ``ImageSamples``, or video clips through
/// ``ClipSamples``), one epoch at a time.
///
/// Each epoch visits the samples in order, or in a permutation drawn from `RandomSampling.generator(seed, epoch)`
/// when shuffling. Every sample is loaded by ``samples`` — decoded, transformed with the generator
/// `RandomSampling.generator(seed, epoch, index)` and normalised; consecutive loaded samples fill batches of
/// ``batchSize`` (the last one smaller, or dropped with ``dropLast``). With ``workers`` > 0 this runs on
/// background threads — `workers` loading threads and one assembling thread, which keeps up to ``prefetch``
/// finished batches queued — and the batches are exactly those of a single-threaded run (`workers: 0`): same
/// order, same augmentation, same bytes.
///
/// A sample that cannot be loaded (an image or a video) ends the epoch: the batches before it are delivered, then ``EpochIterator/next()``
/// throws the error (naming the file). With ``skipBadImages`` it is left out instead, the batch is filled from the
/// following samples, and it is recorded in ``EpochIterator/skipped`` and ``skipped``.
///
/// ```swift
/// let loader = try BatchLoader(source: train, batchSize: 64, shuffle: true, augmentation: .vtab(size: 224),
///                              normalization: .inception, seed: 42)
/// for epoch in 0..<100 {
///     let batches = loader.epoch(epoch)
///     while let batch = try batches.next() { /* batch.images (64, 3, 224, 224), batch.labels */ }
/// }
/// ```
///
/// Video clips go through ``init(samples:batchSize:shuffle:dropLast:seed:workers:prefetch:skipBadImages:shard:)``:
///
/// ```swift
/// let clips = try ClipSamples(dataset: k400, sampling: .kinetics, augmentation: .kinetics(size: 224),
///                             normalization: .imagenet)
/// let loader = try BatchLoader(samples: clips, batchSize: 8, shuffle: true, seed: 42)  // batches (8, 16, 3, 224, 224)
/// ```
///
/// The background threads never call into OpenMP (`parallelFor`), so they do not disturb the model's threads.
public final class BatchLoader: @unchecked Sendable {
    /// The samples and how each is loaded.
    public let samples: any SampleLoading
    /// Samples per batch B.
    public let batchSize: Int
    /// Whether each epoch uses a fresh permutation.
    public let shuffle: Bool
    /// Whether a final batch smaller than B is dropped.
    public let dropLast: Bool
    /// Seed of the permutations and augmentations.
    public let seed: UInt64
    /// Loading threads (0: everything runs on the caller's thread inside `next()`).
    public let workers: Int
    /// Finished batches kept ready ahead of the consumer.
    public let prefetch: Int
    /// Whether undecodable samples (images, videos) are skipped (true) or end the epoch with an error (false).
    public let skipBadImages: Bool
    /// This process's shard of every epoch in a data-parallel run: rank `shard.rank` of `shard.count` (0 of 1 alone).
    public let shard: (rank: Int, count: Int)

    private let lock = NSLock()
    private var _skipped: [SkippedImage] = []

    /// Batches of images: ``ImageSamples`` of `source`, `augmentation` and `normalization`.
    public convenience init(source: any ImageSource, batchSize: Int, shuffle: Bool, dropLast: Bool = false,
                            augmentation: ImageAugmentation, normalization: Normalization, seed: UInt64 = 0,
                            workers: Int = 2, prefetch: Int = 2, skipBadImages: Bool = false,
                            shard: (rank: Int, count: Int) = (0, 1)) throws {
        guard augmentation.size > 0 else { throw SparseTuningError("image size must be positive (got \(augmentation.size))") }
        try self.init(samples: ImageSamples(source: source, augmentation: augmentation, normalization: normalization),
                      batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, seed: seed, workers: workers,
                      prefetch: prefetch, skipBadImages: skipBadImages, shard: shard)
    }

    /// - Parameters:
    ///   - workers: loading threads; default 2 (0 = no background threads).
    ///   - prefetch: batches prepared ahead of the consumer (≥ 1).
    ///   - shard: rank and number of processes of a data-parallel run: each epoch's order (the same permutation on
    ///     every rank) is padded by repeating its start to a multiple of `count`, and this rank takes every
    ///     `count`-th sample from `rank` on (PyTorch's DistributedSampler). With per-rank batches of B/count, the
    ///     ranks' k-th batches together are exactly the k-th batch of B of one process.
    /// - Throws: ``SparseTuningError`` when the source is empty, `batchSize` < 1, `workers` < 0, `prefetch` < 1, the
    ///   shard is invalid, or `dropLast` leaves no batch at all.
    public init(samples: any SampleLoading, batchSize: Int, shuffle: Bool, dropLast: Bool = false, seed: UInt64 = 0,
                workers: Int = 2, prefetch: Int = 2, skipBadImages: Bool = false, shard: (rank: Int, count: Int) = (0, 1)) throws {
        guard samples.count > 0 else { throw SparseTuningError("cannot load batches: the dataset has no samples") }
        guard shard.count >= 1, shard.rank >= 0, shard.rank < shard.count else {
            throw SparseTuningError("invalid shard: rank \(shard.rank) of \(shard.count)")
        }
        let shardSize = (samples.count + shard.count - 1) / shard.count
        guard batchSize >= 1 else { throw SparseTuningError("batch size must be at least 1 (got \(batchSize))") }
        guard workers >= 0 else { throw SparseTuningError("loader workers must be 0 or more (got \(workers))") }
        guard prefetch >= 1 else { throw SparseTuningError("loader prefetch must be at least 1 batch (got \(prefetch))") }
        if dropLast && shardSize < batchSize {
            throw SparseTuningError(
                "drop-last with \(shardSize) samples\(shard.count > 1 ? " per rank" : "") and batch size \(batchSize) leaves no batch; "
                + "lower the batch size")
        }
        self.samples = samples
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.workers = workers
        self.prefetch = prefetch
        self.skipBadImages = skipBadImages
        self.shard = shard
    }

    /// Samples this rank visits per epoch: ⌈N / ranks⌉ (all N alone).
    public var samplesPerEpoch: Int { (samples.count + shard.count - 1) / shard.count }

    /// Batches per epoch when no sample is skipped.
    public var batchesPerEpoch: Int {
        dropLast ? samplesPerEpoch / batchSize : (samplesPerEpoch + batchSize - 1) / batchSize
    }

    /// The order in which `epoch` visits the source indices (this rank's share of it in a data-parallel run).
    public func order(epoch: Int) -> [Int] {
        var all: [Int]
        if shuffle {
            var rng = RandomSampling.generator(seed, epoch)
            all = RandomSampling.permutation(samples.count, &rng)
        } else {
            all = Array(0..<samples.count)
        }
        guard shard.count > 1 else { return all }
        let padded = samplesPerEpoch * shard.count
        while all.count < padded { all += all.prefix(padded - all.count) }  // repeat the start (more than once for N < ranks)
        return stride(from: shard.rank, to: padded, by: shard.count).map { all[$0] }
    }

    /// A generator for batch-level randomness of batch `number` of `epoch` (e.g. ``MixupCutmix``), independent of
    /// the per-sample streams.
    public func batchGenerator(epoch: Int, number: Int) -> SeededGenerator {
        RandomSampling.generator(seed, epoch, number, 0x4D49_5855)
    }

    /// Starts loading `epoch` (background threads begin at once) and returns its batch iterator.
    public func epoch(_ epoch: Int) -> EpochIterator {
        EpochIterator(loader: self, epoch: epoch)
    }

    /// Samples skipped so far, over all epochs, counting those of batches already delivered (and those after the
    /// last batch of finished epochs).
    public var skippedCount: Int { lock.withLock { _skipped.count } }

    /// The samples skipped so far, in delivery order.
    public var skipped: [SkippedImage] { lock.withLock { _skipped } }

    func record(_ images: [SkippedImage]) {
        guard !images.isEmpty else { return }
        lock.withLock { _skipped += images }
    }

    /// Threads of all loaders currently running (for tests of clean shutdown).
    static var liveThreads: Int { ThreadCensus.shared.count }
}

/// The batches of one epoch. Not thread-safe: call ``next()`` from one thread.
///
/// Dropping the iterator (or calling ``cancel()``) stops its background threads and waits for them to exit.
public final class EpochIterator {
    /// The loader this epoch belongs to.
    public let loader: BatchLoader
    /// The epoch number.
    public let epoch: Int
    private let pipeline: EpochPipeline
    private var assembler: BatchAssembler?  // used directly when there are no worker threads
    private var finished = false
    private var failure: SparseTuningError?
    /// Images skipped in this epoch so far (those of delivered batches, and after the end those after the last batch).
    public private(set) var skipped: [SkippedImage] = []

    /// Number of samples skipped in this epoch so far.
    public var skippedCount: Int { skipped.count }

    init(loader: BatchLoader, epoch: Int) {
        self.loader = loader
        self.epoch = epoch
        let plan = EpochPlan(loader: loader, epoch: epoch)
        pipeline = EpochPipeline(plan: plan, workers: loader.workers, prefetch: loader.prefetch)
        if loader.workers == 0 {
            assembler = BatchAssembler(plan: plan)
        } else {
            pipeline.start()
        }
    }

    deinit { pipeline.cancel() }

    /// The next batch, or nil when the epoch is over.
    ///
    /// - Throws: the ``SparseTuningError`` of the first sample that could not be loaded (without
    ///   `skipBadImages`), once the batches before it have been delivered; every later call throws it again.
    public func next() throws -> Batch? {
        if let failure { throw failure }
        if finished { return nil }
        let outcome: BatchOutcome?
        if assembler != nil {
            let plan = pipeline.plan
            outcome = assembler!.next { plan.load(position: $0) }
        } else {
            outcome = pipeline.take()
        }
        guard let outcome else {
            finished = true
            return nil
        }
        switch outcome {
        case .batch(let batch, let skippedHere):
            note(skippedHere)
            return batch
        case .failure(let error, let skippedHere):
            note(skippedHere)
            failure = error
            pipeline.cancel()
            throw error
        case .end(let skippedHere):
            note(skippedHere)
            finished = true
            pipeline.cancel()
            return nil
        }
    }

    /// Stops loading: background threads exit (this waits for them) and ``next()`` returns nil from now on.
    public func cancel() {
        pipeline.cancel()
        if failure == nil { finished = true }
    }

    private func note(_ images: [SkippedImage]) {
        skipped += images
        loader.record(images)
    }
}

// MARK: - Internals

/// Everything needed to load the samples of one epoch; immutable and shared by the threads.
struct EpochPlan: Sendable {
    let samples: any SampleLoading
    let order: [Int]
    let epoch: Int
    let seed: UInt64
    let batchSize: Int
    let dropLast: Bool
    let skipBadImages: Bool

    init(loader: BatchLoader, epoch: Int) {
        samples = loader.samples
        order = loader.order(epoch: epoch)
        self.epoch = epoch
        seed = loader.seed
        batchSize = loader.batchSize
        dropLast = loader.dropLast
        skipBadImages = loader.skipBadImages
    }

    /// Loads the sample at `position` of the epoch order; a failure's message names the sample. Thread-safe.
    func load(position: Int) -> SampleResult {
        let index = order[position]
        do {
            return .loaded(try samples.load(index, seed: seed, epoch: epoch))
        } catch {
            let place = samples.describe(index)
            var message = (error as? SparseTuningError)?.message ?? "\(error)"
            if !message.contains(place) { message = "\(place): \(message)" }
            return .failed(SparseTuningError(message))
        }
    }
}

/// A loaded sample or why it failed.
enum SampleResult: Sendable {
    case loaded([Float])
    case failed(SparseTuningError)
}

/// What the assembler produces next.
enum BatchOutcome: Sendable {
    /// A batch, with the images skipped while filling it.
    case batch(Batch, skipped: [SkippedImage])
    /// The epoch ends with an error (without skipping); images skipped before it.
    case failure(SparseTuningError, skipped: [SkippedImage])
    /// The epoch is over; images skipped after the last batch (including a dropped partial batch).
    case end(skipped: [SkippedImage])
}

/// Walks the epoch order, groups loaded samples into batches and records failures: the single definition of
/// batch composition, used on the caller's thread or on the assembling thread.
struct BatchAssembler {
    let plan: EpochPlan
    private var position = 0
    private var number = 0

    init(plan: EpochPlan) { self.plan = plan }

    /// The next outcome, fetching samples in order with `fetch` (nil from `fetch` means cancelled → nil).
    mutating func next(fetch: (Int) -> SampleResult?) -> BatchOutcome? {
        var samples: [[Float]] = [], labels: [Int] = [], indices: [Int] = [], skipped: [SkippedImage] = []
        while samples.count < plan.batchSize && position < plan.order.count {
            guard let result = fetch(position) else { return nil }
            let index = plan.order[position]
            position += 1
            switch result {
            case .loaded(let values):
                samples.append(values)
                labels.append(plan.samples.label(index))
                indices.append(index)
            case .failed(let error):
                guard plan.skipBadImages else {
                    position = plan.order.count
                    return .failure(error, skipped: skipped)
                }
                skipped.append(SkippedImage(epoch: plan.epoch, index: index, source: plan.samples.describe(index),
                                            message: error.message))
            }
        }
        if samples.isEmpty || (samples.count < plan.batchSize && plan.dropLast) {
            return .end(skipped: skipped)
        }
        let stride = plan.samples.floatsPerSample
        let images = Tensor(uninitialized: [samples.count] + plan.samples.sampleShape)  // (B, sampleShape…)
        for (i, values) in samples.enumerated() {
            values.withUnsafeBufferPointer { (images.data + i * stride).update(from: $0.baseAddress!, count: stride) }
        }
        let batch = Batch(images: images, labels: labels, indices: indices, number: number, epoch: plan.epoch)
        number += 1
        return .batch(batch, skipped: skipped)
    }
}

/// The background machinery of one epoch: `workers` threads load samples ahead of the assembling thread, which
/// builds batches in order into a queue of at most `prefetch` batches that ``take()`` hands to the consumer.
final class EpochPipeline: @unchecked Sendable {
    let plan: EpochPlan
    let workers: Int
    let prefetch: Int
    /// How far (in samples) loading may run ahead of assembly.
    let lookahead: Int

    // All state below is guarded by `condition`.
    private let condition = NSCondition()
    private var results: [Int: SampleResult] = [:]
    private var nextPosition = 0
    private var assembledPosition = 0
    private var queue: [BatchOutcome] = []
    private var cancelled = false
    private var stopLoading = false
    private var liveThreads = 0

    init(plan: EpochPlan, workers: Int, prefetch: Int) {
        self.plan = plan
        self.workers = workers
        self.prefetch = prefetch
        lookahead = max(plan.batchSize, 2 * workers)
    }

    /// Starts the loading and assembling threads.
    func start() {
        condition.lock()
        liveThreads = workers + 1
        condition.unlock()
        for w in 0..<workers {
            spawn(name: "sparse-tuning.loader.\(plan.epoch).\(w)") { $0.loadLoop() }
        }
        spawn(name: "sparse-tuning.assembler.\(plan.epoch)") { $0.assembleLoop() }
    }

    private func spawn(name: String, _ body: @escaping @Sendable (EpochPipeline) -> Void) {
        ThreadCensus.shared.add(1)
        let thread = Thread { [self] in
            body(self)
            condition.lock()
            liveThreads -= 1
            ThreadCensus.shared.add(-1)
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    private func loadLoop() {
        condition.lock()
        while true {
            while !cancelled && !stopLoading && nextPosition < plan.order.count
                && nextPosition >= assembledPosition + lookahead {
                condition.wait()
            }
            if cancelled || stopLoading || nextPosition >= plan.order.count { break }
            let position = nextPosition
            nextPosition += 1
            condition.unlock()
            let result = plan.load(position: position)
            condition.lock()
            results[position] = result
            condition.broadcast()
        }
        condition.unlock()
    }

    private func assembleLoop() {
        var assembler = BatchAssembler(plan: plan)
        while true {
            guard let outcome = assembler.next(fetch: fetch) else { break }
            let isBatch: Bool
            if case .batch = outcome { isBatch = true } else { isBatch = false }
            condition.lock()
            while isBatch && !cancelled && queue.count >= prefetch { condition.wait() }
            if cancelled {
                condition.unlock()
                break
            }
            queue.append(outcome)
            if !isBatch { stopLoading = true }
            condition.broadcast()
            condition.unlock()
            if !isBatch { break }
        }
    }

    /// The result for `position`, waiting for a loader to produce it; nil when cancelled.
    private func fetch(_ position: Int) -> SampleResult? {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled && results[position] == nil { condition.wait() }
        if cancelled { return nil }
        let result = results.removeValue(forKey: position)
        assembledPosition = position + 1
        condition.broadcast()
        return result
    }

    /// The next outcome for the consumer, waiting for it; nil when cancelled.
    func take() -> BatchOutcome? {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled && queue.isEmpty { condition.wait() }
        if queue.isEmpty { return nil }
        let outcome = queue.removeFirst()
        condition.broadcast()
        return outcome
    }

    /// Stops every thread of this epoch and waits until they have exited. Idempotent.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while liveThreads > 0 { condition.wait() }
        results.removeAll()
        queue.removeAll()
        condition.unlock()
    }
}

/// Counts live loader threads process-wide.
final class ThreadCensus: @unchecked Sendable {
    static let shared = ThreadCensus()
    private let lock = NSLock()
    private var value = 0
    var count: Int { lock.withLock { value } }
    func add(_ delta: Int) { lock.withLock { value += delta } }
}
