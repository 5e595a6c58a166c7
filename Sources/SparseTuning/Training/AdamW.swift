// AdamW with decoupled weight decay, computed exactly as torch.optim.AdamW (single-tensor path): the same
// update order, the same bias correction, the same scalar arithmetic; vectorised and parallel over elements.

/// The AdamW optimiser (Loshchilov & Hutter), numerically as `torch.optim.AdamW(foreach=False)`.
///
/// For every parameter p with gradient g, at step t (1-based, counted by ``stepCount``):
///
///     p ← p · (1 − lr·wd)                      only if p.weightDecay (decoupled decay)
///     m ← m + (1 − β1)·(g − m)                 (torch's lerp)
///     v ← v·β2 + (1 − β2)·g·g
///     p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)
///
/// Scalar coefficients are computed in double precision from the shortest decimal spelling of each `Float`
/// hyper-parameter (so `0.9` means the decimal 0.9, as in Python), then rounded to `Float`; the element-wise
/// arithmetic is `Float`, in torch's order. Results therefore match PyTorch to the last bit or nearly so,
/// and never depend on the thread count.
///
/// Parameters whose ``Parameter/weightDecay`` is false (biases, norms, tokens) get no decay, like a torch
/// parameter group with `weight_decay=0`.
public final class AdamW {
    /// The parameters updated by ``step(lr:)``, in the order given.
    public let parameters: [Parameter]
    /// The learning rate of the most recent ``step(lr:)`` (initially the `lr` given to `init`).
    public private(set) var lr: Float
    /// (β1, β2): decay rates of the first and second moment estimates.
    public let betas: (Float, Float)
    /// Added to the denominator for numerical stability.
    public let eps: Float
    /// Decoupled weight-decay coefficient, applied to parameters with `weightDecay == true`.
    public let weightDecay: Float
    /// Number of steps taken so far (torch's `state["step"]`); the next step uses t = stepCount + 1.
    public private(set) var stepCount: Int = 0

    /// First moment estimate per parameter (torch `exp_avg`).
    private let expAvg: [Tensor]
    /// Second moment estimate per parameter (torch `exp_avg_sq`).
    private let expAvgSq: [Tensor]

    /// Name of the step-count tensor in ``stateTensors()``.
    public static let stepTensorName = "step"
    /// Name of the first-moment tensor of parameter `name` in ``stateTensors()``: `exp_avg.<name>`.
    public static func expAvgName(_ name: String) -> String { "exp_avg." + name }
    /// Name of the second-moment tensor of parameter `name` in ``stateTensors()``: `exp_avg_sq.<name>`.
    public static func expAvgSqName(_ name: String) -> String { "exp_avg_sq." + name }

    /// Creates the optimiser with zero moments and step count 0.
    /// - Parameters:
    ///   - parameters: the trainable tensors; names must be unique (they key the saved state).
    ///   - lr: the initial learning rate (``step(lr:)`` takes the rate of each step).
    ///   - betas: (β1, β2), each in [0, 1).
    ///   - eps: ≥ 0.
    ///   - weightDecay: ≥ 0; applied only to parameters whose `weightDecay` flag is set.
    /// - Throws: ``SparseTuningError`` for a duplicate parameter name or a hyper-parameter out of range.
    public init(parameters: [Parameter], lr: Float, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8,
                weightDecay: Float = 1e-4) throws {
        var seen = Set<String>()
        for p in parameters where !seen.insert(p.name).inserted {
            throw SparseTuningError("AdamW: parameter name '\(p.name)' appears more than once")
        }
        guard lr >= 0, lr.isFinite else { throw SparseTuningError("AdamW: invalid learning rate \(lr), expected ≥ 0") }
        guard betas.0 >= 0, betas.0 < 1 else { throw SparseTuningError("AdamW: invalid beta1 \(betas.0), expected 0 ≤ β1 < 1") }
        guard betas.1 >= 0, betas.1 < 1 else { throw SparseTuningError("AdamW: invalid beta2 \(betas.1), expected 0 ≤ β2 < 1") }
        guard eps >= 0, eps.isFinite else { throw SparseTuningError("AdamW: invalid eps \(eps), expected ≥ 0") }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw SparseTuningError("AdamW: invalid weight decay \(weightDecay), expected ≥ 0")
        }
        self.parameters = parameters
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weightDecay = weightDecay
        expAvg = parameters.map { Tensor(zeros: $0.value.shape) }
        expAvgSq = parameters.map { Tensor(zeros: $0.value.shape) }
    }

    /// Takes one optimisation step with learning rate `lr`, using the gradients currently in each
    /// ``Parameter/grad`` (which are left unchanged; call ``zeroGrad()`` before the next backward pass).
    /// - Precondition: `lr` ≥ 0 and finite (a schedule never gives anything else).
    public func step(lr: Float) {
        precondition(lr >= 0 && lr.isFinite, "AdamW.step: invalid learning rate \(lr)")
        self.lr = lr
        stepCount += 1
        let t = Double(stepCount)
        let lrD = shortestDecimal(lr), beta1 = shortestDecimal(betas.0), beta2 = shortestDecimal(betas.1),
            wd = shortestDecimal(weightDecay)
        let bias1 = 1 - pow(beta1, t), bias2 = 1 - pow(beta2, t)
        let coefficients = Coefficients(
            decay: Float(1 - lrD * wd),
            oneMinusBeta1: Float(1 - beta1),
            beta2: Float(beta2),
            oneMinusBeta2: Float(1 - beta2),
            negStepSize: Float(-(lrD / bias1)),
            bias2Sqrt: Float(bias2.squareRoot()),
            eps: Float(shortestDecimal(eps)))
        for (i, p) in parameters.enumerated() {
            AdamW.update(p.value.data, p.grad.data, expAvg[i].data, expAvgSq[i].data, count: p.value.count,
                         decays: p.weightDecay && weightDecay != 0, coefficients)
        }
    }

    /// Sets every parameter's gradient to zero.
    public func zeroGrad() {
        for p in parameters { p.zeroGrad() }
    }

    /// The optimiser state under torch-like names: `exp_avg.<param>`, `exp_avg_sq.<param>` (each the shape of
    /// its parameter) and `step` (a scalar holding ``stepCount``, exact up to 2²⁴ steps).
    ///
    /// The moment tensors are the live buffers, not copies: write them out before the next ``step(lr:)``.
    public func stateTensors() -> [String: Tensor] {
        var state: [String: Tensor] = [AdamW.stepTensorName: Tensor(shape: [], values: [Float(stepCount)])]
        for (i, p) in parameters.enumerated() {
            state[AdamW.expAvgName(p.name)] = expAvg[i]
            state[AdamW.expAvgSqName(p.name)] = expAvgSq[i]
        }
        return state
    }

    /// Checks that `state` (as written by ``stateTensors()``, each name after `prefix`) fits these parameters,
    /// without changing anything. Tensors of `state` whose names do not start with `prefix` are not looked at.
    /// - Parameters:
    ///   - source: what the state was read from (a file path), named in errors.
    ///   - prefix: prepended to every state name (e.g. `optim.` inside a resume file).
    /// - Throws: ``SparseTuningError`` naming `source` and the tensor: a missing moment or step tensor, a shape
    ///   that differs from its parameter's, a tensor that belongs to no parameter, or an invalid step count.
    public func validateState(_ state: [String: Tensor], source: String, prefix: String = "") throws {
        _ = try savedStepCount(in: state, source: source, prefix: prefix)
        var expected = Set([prefix + AdamW.stepTensorName])
        for p in parameters {
            for name in [prefix + AdamW.expAvgName(p.name), prefix + AdamW.expAvgSqName(p.name)] {
                expected.insert(name)
                guard let tensor = state[name] else {
                    throw SparseTuningError("\(source): optimizer state has no tensor '\(name)' "
                        + "(for parameter '\(p.name)' of shape \(p.value.shape))")
                }
                guard tensor.shape == p.value.shape else {
                    throw SparseTuningError("\(source): optimizer tensor '\(name)' has shape \(tensor.shape), "
                        + "but parameter '\(p.name)' has shape \(p.value.shape)")
                }
            }
        }
        if let stray = state.keys.filter({ $0.hasPrefix(prefix) && !expected.contains($0) }).sorted().first {
            throw SparseTuningError("\(source): optimizer tensor '\(stray)' belongs to no parameter of this optimizer "
                + "(the set of trainable parameters differs from the one that was saved)")
        }
    }

    /// Replaces the moments and step count with `state` (as written by ``stateTensors()``, names after `prefix`),
    /// after validating it completely: on error nothing is changed.
    /// - Throws: as ``validateState(_:source:prefix:)``.
    public func loadState(_ state: [String: Tensor], source: String, prefix: String = "") throws {
        try validateState(state, source: source, prefix: prefix)
        stepCount = try savedStepCount(in: state, source: source, prefix: prefix)
        for (i, p) in parameters.enumerated() {
            expAvg[i].data.update(from: state[prefix + AdamW.expAvgName(p.name)]!.data, count: p.value.count)
            expAvgSq[i].data.update(from: state[prefix + AdamW.expAvgSqName(p.name)]!.data, count: p.value.count)
        }
    }

    private func savedStepCount(in state: [String: Tensor], source: String, prefix: String) throws -> Int {
        let name = prefix + AdamW.stepTensorName
        guard let tensor = state[name] else {
            throw SparseTuningError("\(source): optimizer state has no tensor '\(name)' (the step count)")
        }
        return try trainingStateCount(tensor, name: name, what: "optimizer", source: source)
    }

    // MARK: Kernel

    /// The per-step scalars, each rounded to `Float` as torch does when it applies a Python scalar.
    private struct Coefficients {
        let decay, oneMinusBeta1, beta2, oneMinusBeta2, negStepSize, bias2Sqrt, eps: Float
    }

    /// The update of one parameter, 16 lanes at a time, split over the thread team in 16-element blocks.
    private static func update(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                               _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, count: Int,
                               decays: Bool, _ c: Coefficients) {
        parallelFor(count / 16 + 1, minChunk: 1024) { b0, b1 in
            let start = b0 * 16, end = min(count, b1 * 16)
            var i = start
            while i + 16 <= end {
                var pv = load16(p + i)
                let gv = load16(g + i)
                if decays { pv = pv * c.decay }
                var mv = load16(m + i)
                mv = mv + c.oneMinusBeta1 * (gv - mv)
                var vv = load16(v + i) * c.beta2
                vv = vv + c.oneMinusBeta2 * gv * gv
                let denominator = vv.squareRoot() / c.bias2Sqrt + c.eps
                pv = pv + (c.negStepSize * mv) / denominator
                store16(mv, m + i)
                store16(vv, v + i)
                store16(pv, p + i)
                i += 16
            }
            while i < end {
                var pi = p[i]
                let gi = g[i]
                if decays { pi = pi * c.decay }
                let mi = m[i] + c.oneMinusBeta1 * (gi - m[i])
                var vi = v[i] * c.beta2
                vi = vi + c.oneMinusBeta2 * gi * gi
                let denominator = vi.squareRoot() / c.bias2Sqrt + c.eps
                pi = pi + (c.negStepSize * mi) / denominator
                m[i] = mi
                v[i] = vi
                p[i] = pi
                i += 1
            }
        }
    }
}

/// The count held by a scalar state tensor (a step or update count saved as F32), validated.
func trainingStateCount(_ tensor: Tensor, name: String, what: String, source: String) throws -> Int {
    guard tensor.count == 1, tensor.shape.count <= 1 else {
        throw SparseTuningError("\(source): \(what) tensor '\(name)' has shape \(tensor.shape), expected a scalar")
    }
    let value = tensor[0]
    guard value.isFinite, value >= 0, value == value.rounded(), value <= 16_777_216 else {
        throw SparseTuningError("\(source): \(what) tensor '\(name)' holds \(value), expected a whole number "
            + "between 0 and 2^24")
    }
    return Int(value)
}

/// The double nearest to the shortest decimal spelling of `x` (0.9 as Float → 0.9 as Double), so that scalar
/// coefficients agree with a Python computation on the same decimal hyper-parameters.
func shortestDecimal(_ x: Float) -> Double {
    Double(x.description) ?? Double(x)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
