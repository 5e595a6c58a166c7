// An exponential moving average of the trainable parameters (timm's ModelEmaV2 update), with swapping the
// averaged values into the model for evaluation and back, and state export for resuming.

/// Keeps e ← d·e + (1 − d)·p for each parameter p after every optimizer step (timm's `ModelEmaV2`), and can
/// swap the averages into the parameters for evaluation.
///
/// With `warmup`, the decay used at update n (0-based) is min(d, (1 + n) / (10 + n)), the classic warm-up of
/// TensorFlow's `ExponentialMovingAverage(num_updates=)`, so early averages are not dominated by the
/// initial values. Only ``Parameter`` values are averaged (not buffers such as BatchNorm statistics).
public final class ExponentialMovingAverage {
    /// The parameters being averaged.
    public let parameters: [Parameter]
    /// d, the decay per update, in [0, 1].
    public let decay: Float
    /// Whether the decay warms up as min(d, (1 + n) / (10 + n)).
    public let warmup: Bool
    /// Number of ``update()`` calls so far.
    public private(set) var updates = 0
    /// Whether ``swapIn()`` has put the averages into the parameters (and ``swapOut()`` not yet restored them).
    public var isSwappedIn: Bool { stash != nil }

    private let averages: [Tensor]
    private var stash: [Tensor]?

    /// Name of the update-count tensor in ``stateTensors()``.
    public static let updatesTensorName = "updates"
    /// Name of parameter `name`'s average in ``stateTensors()``: `avg.<name>`.
    public static func averageName(_ name: String) -> String { "avg." + name }

    /// Starts the averages at the parameters' current values.
    /// - Throws: ``SparseTuningError`` if `decay` is outside [0, 1] or a parameter name repeats.
    public init(parameters: [Parameter], decay: Float = 0.9998, warmup: Bool = false) throws {
        guard decay >= 0, decay <= 1 else {
            throw SparseTuningError("EMA: decay \(decay) is outside [0, 1]")
        }
        var seen = Set<String>()
        for p in parameters where !seen.insert(p.name).inserted {
            throw SparseTuningError("EMA: parameter name '\(p.name)' appears more than once")
        }
        self.parameters = parameters
        self.decay = decay
        self.warmup = warmup
        averages = parameters.map { $0.value.copy() }
    }

    /// The decay the next ``update()`` will use.
    public var currentDecay: Float {
        guard warmup else { return decay }
        let n = Double(updates)
        return Float(min(shortestDecimal(decay), (1 + n) / (10 + n)))
    }

    /// The running average of parameter `name`, or nil if it is not averaged here.
    public func average(_ name: String) -> Tensor? {
        parameters.firstIndex { $0.name == name }.map { averages[$0] }
    }

    /// Folds the parameters' current values into the averages. Call after each optimizer step.
    /// - Precondition: the averages are not swapped in.
    public func update() {
        precondition(!isSwappedIn, "EMA.update() while the averages are swapped into the parameters; call swapOut() first")
        let d = currentDecay, rest = 1 - d
        for (i, p) in parameters.enumerated() {
            let e = averages[i].data, x = p.value.data, count = p.value.count
            parallelFor(count / 16 + 1, minChunk: 1024) { b0, b1 in
                let start = b0 * 16, end = min(count, b1 * 16)
                var j = start
                while j + 16 <= end { store16(load16(e + j) * d + rest * load16(x + j), e + j); j += 16 }
                while j < end { e[j] = e[j] * d + rest * x[j]; j += 1 }
            }
        }
        updates += 1
    }

    /// Copies the averages into the parameters, keeping their training values aside until ``swapOut()``.
    /// Does nothing if already swapped in.
    public func swapIn() {
        guard stash == nil else { return }
        stash = parameters.map { $0.value.copy() }
        for (i, p) in parameters.enumerated() { p.value.data.update(from: averages[i].data, count: p.value.count) }
    }

    /// Restores the training values put aside by ``swapIn()``. Does nothing if not swapped in.
    public func swapOut() {
        guard let saved = stash else { return }
        for (i, p) in parameters.enumerated() { p.value.data.update(from: saved[i].data, count: p.value.count) }
        stash = nil
    }

    /// Runs `body` with the averages swapped in (e.g. an evaluation), restoring the training values afterwards,
    /// also when `body` throws.
    public func withAverages<T>(_ body: () throws -> T) rethrows -> T {
        let wasIn = isSwappedIn
        swapIn()
        defer { if !wasIn { swapOut() } }
        return try body()
    }

    /// The state: `avg.<param>` (the live averages, not copies) and `updates` (a scalar, exact up to 2²⁴).
    public func stateTensors() -> [String: Tensor] {
        var state = [ExponentialMovingAverage.updatesTensorName: Tensor(shape: [], values: [Float(updates)])]
        for (i, p) in parameters.enumerated() { state[ExponentialMovingAverage.averageName(p.name)] = averages[i] }
        return state
    }

    /// Checks `state` (as from ``stateTensors()``, each name after `prefix`) against these parameters without
    /// changing anything. Tensors whose names do not start with `prefix` are not looked at.
    /// - Throws: ``SparseTuningError`` naming `source` and the tensor: missing, wrong shape, unexpected, or an
    ///   invalid update count.
    public func validateState(_ state: [String: Tensor], source: String, prefix: String = "") throws {
        _ = try savedUpdateCount(in: state, source: source, prefix: prefix)
        var expected: Set<String> = [prefix + ExponentialMovingAverage.updatesTensorName]
        for p in parameters {
            let name = prefix + ExponentialMovingAverage.averageName(p.name)
            expected.insert(name)
            guard let tensor = state[name] else {
                throw SparseTuningError("\(source): EMA state has no tensor '\(name)' (for parameter '\(p.name)')")
            }
            guard tensor.shape == p.value.shape else {
                throw SparseTuningError("\(source): EMA tensor '\(name)' has shape \(tensor.shape), "
                    + "but parameter '\(p.name)' has shape \(p.value.shape)")
            }
        }
        if let stray = state.keys.filter({ $0.hasPrefix(prefix) && !expected.contains($0) }).sorted().first {
            throw SparseTuningError("\(source): EMA tensor '\(stray)' belongs to no averaged parameter")
        }
    }

    /// Replaces the averages and update count with `state` (names after `prefix`), after validating it completely
    /// (nothing changes on error). Any swapped-in state is discarded first (the parameters get their training
    /// values back).
    public func loadState(_ state: [String: Tensor], source: String, prefix: String = "") throws {
        try validateState(state, source: source, prefix: prefix)
        swapOut()
        updates = try savedUpdateCount(in: state, source: source, prefix: prefix)
        for (i, p) in parameters.enumerated() {
            averages[i].data.update(from: state[prefix + ExponentialMovingAverage.averageName(p.name)]!.data,
                                    count: p.value.count)
        }
    }

    private func savedUpdateCount(in state: [String: Tensor], source: String, prefix: String) throws -> Int {
        let name = prefix + ExponentialMovingAverage.updatesTensorName
        guard let tensor = state[name] else {
            throw SparseTuningError("\(source): EMA state has no tensor '\(name)' (the update count)")
        }
        return try trainingStateCount(tensor, name: name, what: "EMA", source: source)
    }
}
