// Gradient utilities: global norm and clipping against torch.nn.utils.clip_grad_norm_, scaling, accumulation
// bookkeeping, and the exponential moving average (update rule, warm-up, swap in/out, state).
import XCTest
import Foundation
@testable import SparseTuning

final class TrainingGradientTests: XCTestCase {
    private func parameters(from fixture: Fixture) -> [Parameter] {
        (0..<3).map { i in
            let g = fixture["g.\(i)"]
            let p = Parameter(name: "p\(i)", value: Tensor(zeros: g.shape))
            p.grad.data.update(from: g.data, count: g.count)
            return p
        }
    }

    func testClipGradNormMatchesTorch() throws {
        let fixture = try Fixture("optim/clip.safetensors")
        for m in ["0.5", "100.0"] {
            let params = parameters(from: fixture)
            let norm = clipGradNorm(params, maxNorm: Float(m)!)
            assertClose([norm], fixture["norm.\(m)"].values, atol: 0, rtol: 1e-6, "norm \(m)")
            for (i, p) in params.enumerated() {
                assertClose(p.grad.values, fixture["clipped.\(m).\(i)"].values, atol: 1e-7, rtol: 1e-6, "clipped \(m).\(i)")
            }
        }
        // Clipping to 0.5 leaves a global norm of 0.5 (up to the 1e-6 guard); 100 leaves the gradients alone.
        let clipped = parameters(from: fixture)
        clipGradNorm(clipped, maxNorm: 0.5)
        XCTAssertEqual(gradientNorm(clipped), 0.5, accuracy: 1e-5)
        let untouched = parameters(from: fixture)
        clipGradNorm(untouched, maxNorm: 100)
        for (p, q) in zip(untouched, parameters(from: fixture)) { XCTAssertEqual(p.grad.values, q.grad.values) }
    }

    func testGradientNormMathAndThreadIndependence() {
        let a = Parameter(name: "a", value: Tensor(zeros: [2]))
        let b = Parameter(name: "b", value: Tensor(zeros: [1]))
        a.grad.data.update(from: [3, 0], count: 2)
        b.grad.data.update(from: [4], count: 1)
        XCTAssertEqual(gradientNorm([a, b]), 5)
        XCTAssertEqual(gradientNorm([]), 0)
        XCTAssertEqual(gradientNorm([Parameter(name: "e", value: Tensor(zeros: [0]))]), 0)

        let saved = Compute.threads
        defer { Compute.threads = saved }
        var rng = SeededGenerator(seed: 9)
        let big = Parameter(name: "big", value: Tensor(zeros: [300_001]))
        big.grad.fillUniform(bound: 3, using: &rng)
        Compute.threads = 1
        let one = gradientNorm([big])
        Compute.threads = 2
        let two = gradientNorm([big])
        XCTAssertEqual(one.bitPattern, two.bitPattern)
        let exact = big.grad.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(Double(one), exact, accuracy: exact * 1e-6)
    }

    func testNonFiniteNormLeavesGradientsAlone() {
        let p = Parameter(name: "p", value: Tensor(zeros: [3]))
        p.grad.data.update(from: [1, .infinity, 2], count: 3)
        let norm = clipGradNorm([p], maxNorm: 1)
        XCTAssertEqual(norm, .infinity)
        XCTAssertEqual(p.grad.values, [1, .infinity, 2])
        p.grad.data.update(from: [1, .nan, 2], count: 3)
        XCTAssertTrue(clipGradNorm([p], maxNorm: 1).isNaN)
        XCTAssertEqual(p.grad[0], 1)
    }

    func testScaleAndAccumulation() throws {
        let p = Parameter(name: "p", value: Tensor(zeros: [20]))
        for i in 0..<20 { p.grad[i] = Float(i) }
        scaleGradients([p], by: 0.5)
        XCTAssertEqual(p.grad.values, (0..<20).map { Float($0) * 0.5 })

        var accumulation = try GradientAccumulation(microBatches: 3)
        p.zeroGrad()
        var steps = 0
        for micro in 0..<7 {
            for i in 0..<20 { p.grad[i] += Float(micro + 1) }   // a backward pass adds
            if accumulation.add() {
                XCTAssertEqual(accumulation.finish([p]), 3)
                // Mean of the three micro-batch gradients.
                let group = Float(micro - 1) + 1
                XCTAssertEqual(p.grad[0], group, accuracy: 1e-6)
                steps += 1
                p.zeroGrad()
            }
        }
        XCTAssertEqual(steps, 2)
        XCTAssertEqual(accumulation.pending, 1)
        XCTAssertEqual(accumulation.finish([p]), 1)         // partial group: 1/1, unchanged
        XCTAssertEqual(p.grad[0], 7)
        XCTAssertEqual(accumulation.finish([p]), 0)
        XCTAssertEqual(p.grad[0], 7)

        var single = try GradientAccumulation(microBatches: 1)
        XCTAssertTrue(single.add())
        XCTAssertThrowsError(try GradientAccumulation(microBatches: 0)) { error in
            XCTAssertEqual("\(error)", "gradient accumulation: 0 micro-batches per step, expected at least 1")
        }
    }

    // MARK: EMA

    func testEMAUpdateRuleWarmupAndSwap() throws {
        let p = Parameter(name: "p", value: Tensor(shape: [17], values: (0..<17).map { Float($0) }))
        let ema = try ExponentialMovingAverage(parameters: [p], decay: 0.9)
        XCTAssertEqual(ema.average("p")?.values, p.value.values)
        XCTAssertNil(ema.average("q"))
        var expected = p.value.values
        for step in 1...4 {
            for i in 0..<17 { p.value[i] = Float(i) + Float(step) * 10 }
            ema.update()
            for i in 0..<17 { expected[i] = expected[i] * 0.9 + (1 - 0.9) * p.value[i] }
        }
        XCTAssertEqual(ema.updates, 4)
        XCTAssertEqual(ema.average("p")!.values, expected)

        let training = p.value.values
        ema.swapIn()
        XCTAssertTrue(ema.isSwappedIn)
        XCTAssertEqual(p.value.values, expected)
        ema.swapIn()                                   // idempotent
        ema.swapOut()
        XCTAssertFalse(ema.isSwappedIn)
        XCTAssertEqual(p.value.values, training)
        ema.swapOut()                                  // idempotent
        XCTAssertEqual(p.value.values, training)

        struct Boom: Error {}
        XCTAssertThrowsError(try ema.withAverages { () throws -> Void in
            XCTAssertEqual(p.value.values, expected)
            throw Boom()
        })
        XCTAssertEqual(p.value.values, training)
        let seen = ema.withAverages { p.value[3] }
        XCTAssertEqual(seen, expected[3])

        let warm = try ExponentialMovingAverage(parameters: [p], decay: 0.999, warmup: true)
        XCTAssertEqual(warm.currentDecay, 0.1)          // (1 + 0) / (10 + 0)
        warm.update()
        XCTAssertEqual(warm.currentDecay, Float(2.0 / 11.0))
        for _ in 0..<10_000 { warm.update() }
        XCTAssertEqual(warm.currentDecay, 0.999)
    }

    func testEMAStateAndErrors() throws {
        let a = Parameter(name: "a", value: Tensor(shape: [2], values: [1, 2]))
        let ema = try ExponentialMovingAverage(parameters: [a], decay: 0.5)
        a.value.data.update(from: [3, 4], count: 2)
        ema.update()
        let state = ema.stateTensors()
        XCTAssertEqual(Set(state.keys), ["avg.a", "updates"])
        XCTAssertEqual(state["avg.a"]!.values, [2, 3])
        let other = try ExponentialMovingAverage(parameters: [a], decay: 0.5)
        try other.loadState(state.mapValues { $0.copy() }, source: "s")
        XCTAssertEqual(other.updates, 1)
        XCTAssertEqual(other.average("a")!.values, [2, 3])

        XCTAssertThrowsError(try ExponentialMovingAverage(parameters: [a], decay: 1.5)) {
            XCTAssertEqual("\($0)", "EMA: decay 1.5 is outside [0, 1]")
        }
        XCTAssertThrowsError(try ExponentialMovingAverage(parameters: [a, a], decay: 0.5)) {
            XCTAssertEqual("\($0)", "EMA: parameter name 'a' appears more than once")
        }
        let cases: [([String: Tensor], String)] = [
            (["updates": Tensor(shape: [], values: [1])], "s: EMA state has no tensor 'avg.a' (for parameter 'a')"),
            (["updates": Tensor(shape: [], values: [1]), "avg.a": Tensor(zeros: [3])],
             "s: EMA tensor 'avg.a' has shape [3], but parameter 'a' has shape [2]"),
            (["updates": Tensor(shape: [], values: [1]), "avg.a": Tensor(zeros: [2]), "avg.b": Tensor(zeros: [2])],
             "s: EMA tensor 'avg.b' belongs to no averaged parameter"),
            (["avg.a": Tensor(zeros: [2])], "s: EMA state has no tensor 'updates' (the update count)"),
            (["updates": Tensor(shape: [], values: [0.5]), "avg.a": Tensor(zeros: [2])],
             "s: EMA tensor 'updates' holds 0.5, expected a whole number"),
        ]
        for (bad, message) in cases {
            XCTAssertThrowsError(try other.loadState(bad, source: "s")) { error in
                XCTAssertTrue("\(error)".hasPrefix(message), "\(error)\nexpected: \(message)")
            }
            XCTAssertEqual(other.average("a")!.values, [2, 3])
            XCTAssertEqual(other.updates, 1)
        }
    }
}
