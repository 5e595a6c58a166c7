// Collective operations across the processes of a data-parallel run (docs/DISTRIBUTED.md): the library defines what
// training needs — rank, world size, sum all-reduce, broadcast — and runs on one process without any of it
// (`SingleProcess`). The MPI implementation lives in the SparseTuningMPI target, which the command line uses under
// `mpirun`; the core library links no MPI and has no process-wide side effects.

/// The processes of one training run, as training sees them.
public protocol Collective: Sendable {
    /// This process's index, 0 ..< size (rank 0 writes files).
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// `buffer[0..<count]` ← the sum of every rank's values, on every rank.
    func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// `values` ← the element-wise sum over ranks, on every rank.
    func allreduceSum(_ values: inout [Double]) throws
    /// `buffer[0..<count]` ← rank `root`'s values, on every rank.
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) throws
}

/// One process: every collective is the identity.
public struct SingleProcess: Collective {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    public func allreduceSum(_ values: inout [Double]) throws {}
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {}
}

extension Collective {
    /// Whether this process writes files and prints summaries.
    public var isLeader: Bool { rank == 0 }

    /// Returns once every rank has called it.
    public func barrier() throws {
        var token = [0.0]
        try allreduceSum(&token)
    }

    /// Averages the gradients of `parameters` over the ranks: each bucket of up to `bucketFloats` values is copied into
    /// one flat buffer, summed across ranks in one call and scaled by 1/size (DDP's bucketed all-reduce, after the
    /// backward pass).
    func averageGradients(_ parameters: [Parameter], bucketFloats: Int = 1 << 22) throws {
        guard size > 1 else { return }
        let scale = 1 / Float(size)
        var start = 0
        while start < parameters.count {
            var end = start, floats = 0
            while end < parameters.count && (end == start || floats + parameters[end].grad.count <= bucketFloats) {
                floats += parameters[end].grad.count
                end += 1
            }
            let bucket = UnsafeMutablePointer<Float>.allocate(capacity: floats)  // (floats) the bucket's gradients
            defer { bucket.deallocate() }
            var offset = 0
            for p in parameters[start..<end] {
                (bucket + offset).update(from: p.grad.data, count: p.grad.count)
                offset += p.grad.count
            }
            try allreduceSum(bucket, count: floats)
            offset = 0
            for p in parameters[start..<end] {
                for i in 0..<p.grad.count { p.grad.data[i] = bucket[offset + i] * scale }
                offset += p.grad.count
            }
            start = end
        }
    }

    /// Gives every rank rank 0's values of `parameters` (the same initial trainable tensors everywhere).
    func broadcastValues(_ parameters: [Parameter]) throws {
        guard size > 1 else { return }
        for p in parameters { try broadcast(p.value.data, count: p.value.count, root: 0) }
    }
}

extension EvaluationResult {
    /// This rank's evaluation of its shard combined with the other ranks': sample counts, top-1/top-5 hits, the
    /// loss sum and the confusion matrix summed; speed and per-sample predictions stay this rank's.
    func reduced(over collective: any Collective) throws -> EvaluationResult {
        guard collective.size > 1 else { return self }
        let n = Double(samples)
        var totals = [n, top1 * n, top5 * n, loss * n, Double(skipped)] + confusion.counts.map(Double.init)
        try collective.allreduceSum(&totals)
        var out = self
        out.samples = Int(totals[0])
        let total = max(totals[0], 1)
        out.top1 = totals[1] / total
        out.top5 = totals[2] / total
        out.loss = totals[3] / total
        out.skipped = Int(totals[4])
        var merged = try ConfusionMatrix(classes: confusion.classes)
        for t in 0..<confusion.classes {
            for p in 0..<confusion.classes {
                for _ in 0..<Int(totals[5 + t * confusion.classes + p]) { try merged.add(target: t, predicted: p) }
            }
        }
        out.confusion = merged
        return out
    }
}
