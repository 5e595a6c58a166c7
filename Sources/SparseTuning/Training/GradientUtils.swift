// Operations on the gradients of a parameter list before the optimizer step: the global L2 norm, clipping to a
// maximum norm (as torch.nn.utils.clip_grad_norm_), scaling, and bookkeeping for gradient accumulation.

/// Elements per block of the norm reduction. Blocks are fixed, so the result does not depend on the thread count.
private let normBlock = 4096

/// The global L2 norm of all gradients, ‖(g₁, g₂, …)‖₂, as one vector over every parameter.
///
/// Squares are summed in `Float` within fixed 4096-element blocks and in `Double` across blocks, so the result
/// is the same for any thread count.
public func gradientNorm(_ params: [Parameter]) -> Float {
    var total = 0.0
    for p in params {
        let count = p.grad.count
        guard count > 0 else { continue }
        let blocks = (count + normBlock - 1) / normBlock
        var partial = [Double](repeating: 0, count: blocks)
        let g = p.grad.data
        partial.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            parallelFor(blocks, minChunk: 16) { b0, b1 in
                for b in b0..<b1 {
                    let start = b * normBlock, end = min(count, start + normBlock)
                    var acc = F16x(repeating: 0)
                    var i = start
                    while i + 16 <= end {
                        let v = load16(g + i)
                        acc = acc + v * v
                        i += 16
                    }
                    var sum = Double(hsum(acc))
                    while i < end {
                        sum += Double(g[i] * g[i])
                        i += 1
                    }
                    out[b] = sum
                }
            }
        }
        for s in partial { total += s }
    }
    return Float(total.squareRoot())
}

/// Scales all gradients so that their global L2 norm is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_(params, maxNorm)` (L2, `error_if_nonfinite=False`): with the total norm n,
/// every gradient is multiplied by min(1, maxNorm / (n + 1e-6)) (computed in `Float`).
///
/// Unlike torch, a non-finite norm (an overflowed or NaN gradient) leaves the gradients untouched, so the caller
/// can see it in the returned value and skip the step.
/// - Precondition: `maxNorm` > 0 and finite.
/// - Returns: the norm before clipping.
@discardableResult
public func clipGradNorm(_ params: [Parameter], maxNorm: Float) -> Float {
    precondition(maxNorm > 0 && maxNorm.isFinite, "clipGradNorm: maxNorm must be positive and finite, got \(maxNorm)")
    let norm = gradientNorm(params)
    guard norm.isFinite else { return norm }
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 { scaleGradients(params, by: coefficient) }
    return norm
}

/// Multiplies every gradient by `factor`.
public func scaleGradients(_ params: [Parameter], by factor: Float) {
    for p in params {
        let g = p.grad.data, count = p.grad.count
        parallelFor(count / 16 + 1, minChunk: 1024) { b0, b1 in
            let start = b0 * 16, end = min(count, b1 * 16)
            var i = start
            while i + 16 <= end { store16(load16(g + i) * factor, g + i); i += 16 }
            while i < end { g[i] *= factor; i += 1 }
        }
    }
}

/// Gradient accumulation over k micro-batches: gradients of k backward passes are summed in
/// ``Parameter/grad`` (the backward passes add), then averaged by 1/k before one optimizer step.
///
///     var accumulation = try GradientAccumulation(microBatches: 4)
///     for batch in batches {
///         backward(batch)                               // adds into grad
///         if accumulation.add() {                       // k micro-batches gathered
///             accumulation.finish(params)               // grad *= 1/k
///             optimizer.step(lr: …); optimizer.zeroGrad()
///         }
///     }
///     if accumulation.pending > 0 { accumulation.finish(params); optimizer.step(lr: …) }   // a partial group
///
/// With micro-batches of equal size, the result is the gradient of the mean loss over the k·b images.
public struct GradientAccumulation: Sendable, Equatable {
    /// k, the number of micro-batches per optimizer step.
    public let microBatches: Int
    /// Micro-batches added since the last ``finish(_:)``.
    public private(set) var pending = 0

    /// - Throws: ``SparseTuningError`` if `microBatches` < 1.
    public init(microBatches: Int) throws {
        guard microBatches >= 1 else {
            throw SparseTuningError("gradient accumulation: \(microBatches) micro-batches per step, expected at least 1")
        }
        self.microBatches = microBatches
    }

    /// Records one micro-batch's backward pass; true when `microBatches` have been gathered (time to step).
    public mutating func add() -> Bool {
        pending += 1
        return pending >= microBatches
    }

    /// Divides the gradients by the number of micro-batches gathered (1/pending, a no-op for 1) and starts a
    /// new group. Returns that number (0 if nothing was pending, in which case nothing is scaled).
    @discardableResult
    public mutating func finish(_ params: [Parameter]) -> Int {
        let gathered = pending
        pending = 0
        if gathered > 1 { scaleGradients(params, by: 1 / Float(gathered)) }
        return gathered
    }
}
