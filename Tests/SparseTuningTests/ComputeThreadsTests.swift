// One sparse-tuning training step at 1 and at 2 compute threads, from identical state: loss, logits and every
// gradient agree within rtol 1e-5 (of each tensor's largest magnitude); the differences found are printed, and
// whether the step is bit-identical.
import XCTest
@testable import SparseTuning

final class ComputeThreadsTests: XCTestCase {
    func testTrainingStepAtOneAndTwoThreads() throws {
        let saved = Compute.threads
        defer { Compute.threads = saved }
        // Big enough for oneDNN and the element-wise kernels to split the work (rows = 8·17 = 136, C = 96, M = 384).
        let model = try randomSparseModel(dim: 96, depth: 4, heads: 3, mlp: 384, keepRate: 0.5, tsLayers: [1, 2], dropPath: 0.1)
        let x = randomImages(batch: 8, seed: 40)
        let labels = (0..<8).map { $0 % 5 }
        func step(threads: Int) throws -> (loss: Float, logits: [Float], grads: [[Float]]) {
            Compute.threads = threads
            for p in model.trainable { p.zeroGrad() }
            var rng = SeededGenerator(seed: 3)
            let (loss, logits) = try model.forwardBackward(x, training: true, rng: &rng) {
                try CrossEntropy.forwardBackward(logits: $0, labels: labels)
            }
            return (loss, logits.values, model.trainable.map(\.grad.values))
        }
        let one = try step(threads: 1), two = try step(threads: 2)
        XCTAssertEqual(Compute.threads, 2)

        let rtol: Float = 1e-5
        XCTAssertEqual(two.loss, one.loss, accuracy: rtol * abs(one.loss), "loss at 2 threads vs 1 (rtol \(rtol))")
        assertClose(two.logits, one.logits, atol: 0, rtol: rtol, "logits at 2 threads vs 1 (rtol \(rtol) of max|logit|)")
        var worst: (diff: Float, relative: Float, name: String) = (0, 0, "")
        var differing = 0, total = 0
        for (p, (a, b)) in zip(model.trainable, zip(two.grads, one.grads)) {
            assertClose(a, b, atol: 0, rtol: rtol, "d loss / d \(p.name) at 2 threads vs 1 (rtol \(rtol) of max|grad|)")
            let d = maxAbsDiff(a, b), scale = b.reduce(Float(0)) { max($0, abs($1)) }
            if d > worst.diff { worst = (d, scale > 0 ? d / scale : 0, p.name) }
            differing += bitDifferences(a, b).count
            total += a.count
        }
        XCTAssertGreaterThan(one.grads.joined().filter { $0 != 0 }.count, total / 2, "most gradients are non-zero")
        let logitDiff = maxAbsDiff(two.logits, one.logits)
        let identical = differing == 0 && logitDiff == 0 && one.loss.bitPattern == two.loss.bitPattern
        print("threads 1 vs 2: loss \(one.loss) vs \(two.loss), max logit diff \(logitDiff), \(differing) of \(total) gradient "
              + "values differ, max gradient diff \(worst.diff) (\(worst.name), \(worst.relative) of its max) — "
              + (identical ? "bit-identical" : "not bit-identical"))
    }
}
