// Drop-path (stochastic depth, timm's rule): in training mode each sample's attention and MLP branch of block l is
// dropped with probability p_l = rate·l/(depth−1) or kept and scaled by 1/(1 − p_l) — checked sample by sample
// against the same model in inference mode with each branch's output projection scaled by that sample's factor
// (0 removes the branch); the adapters are not dropped. In inference mode drop-path changes nothing.
// (The finite-difference check with drop-path is in TuningGradientCheckTests.)
import XCTest
@testable import SparseTuning

final class TuningDropPathTests: XCTestCase {
    let rate = 0.6  // p_l = 0, 0.2, 0.4, 0.6 for the four blocks

    /// The masks of a training pass of `model` on `x` with a generator of `seed`, read from the pass's tape.
    func masks(_ model: TunedViT, _ x: Tensor, seed: UInt64) throws -> (logits: [Float], masks: [(attn: [Float], mlp: [Float])]) {
        var rng = SeededGenerator(seed: seed)
        let tape = ModelTape()
        let logits = try model.arenas.with("masks") { arena in
            try withUnsafeMutablePointer(to: &rng) {
                try model.run(x, arena: arena, keepRate: model.tuning.keepRate, training: true, tape: tape, rng: $0).logits
            }
        }
        return (logits.values, try tape.blocks.map { try XCTUnwrap($0?.dropMasks) })
    }

    func testEachSampleEqualsTheModelWithItsBranchesScaledOrRemoved() throws {
        let batch = 6
        let model = try randomSparseModel(dropPath: rate)
        let x = randomImages(batch: batch, seed: 8)
        let labels = [0, 1, 2, 3, 4, 0]
        var rng = SeededGenerator(seed: 12)
        let (_, trainLogits) = try model.forwardBackward(x, training: true, rng: &rng) {
            try CrossEntropy.forwardBackward(logits: $0, labels: labels)
        }
        let (tapeLogits, m) = try masks(model, x, seed: 12)
        assertBitIdentical(tapeLogits, trainLogits.values, "the mask-reading pass is the training pass")

        // timm's rule: block 0 never drops; elsewhere each scale is 0 or exactly 1/(1 − p_l).
        let depth = model.config.depth
        for l in 0..<depth {
            let keep = Float(1 - rate * Double(l) / Double(depth - 1))
            for s in m[l].attn + m[l].mlp { XCTAssertTrue(s == 0 || s == 1 / keep, "block \(l): scale \(s), expected 0 or \(1 / keep)") }
            if l == 0 { XCTAssertEqual(m[0].attn + m[0].mlp, [Float](repeating: 1, count: 2 * batch)) }
        }
        let all = m.flatMap { $0.attn + $0.mlp }
        XCTAssertGreaterThanOrEqual(all.filter { $0 == 0 }.count, 3, "several branches dropped: \(m)")
        XCTAssertGreaterThanOrEqual(all.filter { $0 > 1 }.count, 3, "several branches kept and scaled: \(m)")
        XCTAssertTrue(m.contains { Set($0.attn).count > 1 } && m.contains { Set($0.mlp).count > 1 },
                      "masks are drawn per sample (a branch dropped for some samples, kept for others): \(m)")

        // The reference: an identical model without drop-path, in inference mode, with block l's attn.proj and
        // mlp.fc2 (weight and bias: the whole branch output) multiplied by sample s's scales. Scaling the weights
        // instead of the output rounds differently: tolerance 1e-5 + 1e-4·max|logit|.
        let reference = try randomSparseModel(dropPath: 0)
        let originals = reference.backbone.blocks.map { b in
            [b.attn.proj.weight, b.attn.proj.bias!, b.mlp.fc2.weight, b.mlp.fc2.bias!].map { $0.values }
        }
        let inference = try reference.forward(x).values
        let k = model.config.classes
        var largestEffect: Float = 0
        for s in 0..<batch {
            for (l, b) in reference.backbone.blocks.enumerated() {
                let scales = [m[l].attn[s], m[l].attn[s], m[l].mlp[s], m[l].mlp[s]]
                for (t, (tensor, scale)) in zip([b.attn.proj.weight, b.attn.proj.bias!, b.mlp.fc2.weight, b.mlp.fc2.bias!], scales).enumerated() {
                    for i in 0..<tensor.count { tensor[i] = originals[l][t][i] * scale }
                }
                b.attn.proj.weightsChanged()
                b.mlp.fc2.weightsChanged()
            }
            let expected = Array(try reference.forward(x).values[(s * k)..<((s + 1) * k)])
            let got = Array(trainLogits.values[(s * k)..<((s + 1) * k)])
            assertClose(got, expected, atol: 1e-5, rtol: 1e-4, "sample \(s): training logits vs branches scaled by \(m.map { ($0.attn[s], $0.mlp[s]) })")
            largestEffect = max(largestEffect, maxAbsDiff(got, Array(inference[(s * k)..<((s + 1) * k)])))
        }
        XCTAssertGreaterThan(largestEffect, 1e-2, "drop-path changes the logits well beyond the tolerance")
    }

    func testInferenceModeIgnoresDropPath() throws {
        let dropping = try randomSparseModel(dropPath: rate), plain = try randomSparseModel(dropPath: 0)
        let x = randomImages(batch: 4, seed: 9)
        let labels = [1, 0, 3, 2]
        assertBitIdentical(try dropping.forward(x).values, try plain.forward(x).values, "forward logits")

        func step(_ model: TunedViT, training: Bool) throws -> (logits: [Float], grads: [Float], next: UInt64) {
            for p in model.trainable { p.zeroGrad() }
            var rng = SeededGenerator(seed: 17)
            let (_, logits) = try model.forwardBackward(x, training: training, rng: &rng) {
                try CrossEntropy.forwardBackward(logits: $0, labels: labels)
            }
            return (logits.values, model.trainable.flatMap(\.grad.values), rng.next())
        }
        let a = try step(dropping, training: false), b = try step(plain, training: false)
        assertBitIdentical(a.logits, b.logits, "forwardBackward(training: false) logits")
        assertBitIdentical(a.grads, b.grads, "forwardBackward(training: false) gradients")
        var fresh = SeededGenerator(seed: 17)
        XCTAssertEqual(a.next, fresh.next(), "no mask is drawn in inference mode")
        // The same call in training mode does drop: the setting is live, so the equalities above mean something.
        let c = try step(dropping, training: true), d = try step(plain, training: true)
        XCTAssertGreaterThan(maxAbsDiff(c.logits, d.logits), 1e-2, "training mode with drop-path differs from without")
        assertBitIdentical(d.logits, b.logits, "without drop-path (and no BatchNorm head) training mode changes nothing")
    }
}
