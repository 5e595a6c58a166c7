// `sparse-tune grad`: d(mean cross-entropy)/d(every trainable tensor) for one batch, written as safetensors named
// as the parameters — a debugging aid for comparing with other frameworks.
import ArgumentParser
import Foundation
import SparseTuning

struct GradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grad",
        abstract: "Write the gradients of the mean cross-entropy for one batch (named as the trainable tensors).")

    @Option(name: .customLong("weights"), help: "Backbone (and task file) checkpoints.")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @Option(help: "Input .npy, float32 (B, 3, S, S), normalised.") var input: String
    @Option(help: "Labels .npy, int64 (B), 0-based.") var labels: String
    @Option(help: "Output .safetensors with one gradient per trainable tensor.") var output: String
    @Flag(name: .customLong("train-mode"), help: "Training mode: BatchNorm batch statistics (drop-path stays off).")
    var trainMode = false

    func run() throws {
        guard !weights.isEmpty else { throw SparseTuningError("grad needs --weights FILE") }
        let built = try buildModel(model, weights: weights)
        let vit = built.model
        let xa = try NPY.read(path: input)
        guard let x = xa.tensor, xa.dtype == .float32, x.shape.count == 4 else {
            throw SparseTuningError("\(input): expected float32 (B, 3, S, S), found '\(xa.descr)' \(xa.shape)")
        }
        let la = try NPY.read(path: labels)
        guard let values = la.int64Values, la.shape == [x.shape[0]] else {
            throw SparseTuningError("\(labels): expected int64 labels of shape [\(x.shape[0])], found '\(la.descr)' \(la.shape)")
        }
        let y = values.map { Int($0) }
        for p in vit.trainable { p.zeroGrad() }
        var rng = SeededGenerator(seed: 0)
        let (loss, _) = try vit.forwardBackward(x, training: trainMode, rng: &rng) {
            try CrossEntropy.forwardBackward(logits: $0, labels: y)
        }
        let shapes = Dictionary(uniqueKeysWithValues: vit.taskStateDict().map { ($0.name, $0.tensor.shape) })
        let grads: [(name: String, tensor: Tensor)] = vit.trainable.map { p in
            let g = p.grad.copy()
            if let s = shapes[p.name], s != g.shape { g.reshape(s) }
            return (p.name, g)
        }
        try Safetensors.write(grads, metadata: ["loss": "\(loss)", "method": vit.tuning.method.rawValue], to: output)
        print(String(format: "loss %.6f; wrote %d gradients to %@", loss, grads.count, output))
    }
}
