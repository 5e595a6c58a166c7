// AdamW against torch.optim.AdamW over several steps (decay and no-decay groups, per-step learning rates, two
// hyper-parameter sets), state export/import, thread-count independence, and every error path.
import XCTest
import Foundation
@testable import SparseTuning

final class TrainingAdamWTests: XCTestCase {
    private let names = ["w", "b", "big"]

    private func fixtureConfig(_ fixture: Fixture) throws -> JSONTree { try jsonTree(fixture.meta("config")) }

    func testMatchesTorchAdamWStepByStep() throws {
        let fixture = try Fixture("optim/adamw.safetensors")
        let config = try fixtureConfig(fixture)
        let steps = try XCTUnwrap(config["steps"]?.int)
        for c in ["c0", "c1"] {
            let h = try XCTUnwrap(config[c]).leaves.compactMapValues(\.double)
            let params = names.map { Parameter(name: $0, value: fixture["\(c).init.\($0)"].copy(), weightDecay: $0 != "b") }
            let optimizer = try AdamW(parameters: params, lr: 1e-3, betas: (Float(h["beta1"]!), Float(h["beta2"]!)),
                                      eps: Float(h["eps"]!), weightDecay: Float(h["weight_decay"]!))
            let lrs = fixture["\(c).lr"].values
            var worst: Float = 0
            for t in 0..<steps {
                optimizer.zeroGrad()
                for p in params {
                    let g = fixture["\(c).grad.\(t).\(p.name)"]
                    p.grad.data.update(from: g.data, count: g.count)
                }
                optimizer.step(lr: lrs[t])
                XCTAssertEqual(optimizer.stepCount, t + 1)
                XCTAssertEqual(optimizer.lr, lrs[t])
                for p in params {
                    let expected = fixture["\(c).param.\(t).\(p.name)"].values
                    assertClose(p.value.values, expected, atol: 1e-6, rtol: 1e-6, "\(c) step \(t) \(p.name)")
                    worst = max(worst, maxAbsDiff(p.value.values, expected))
                }
            }
            let state = optimizer.stateTensors()
            for p in params {
                assertClose(state["exp_avg.\(p.name)"]!.values, fixture["\(c).exp_avg.\(p.name)"].values,
                            atol: 1e-7, rtol: 1e-6, "\(c) exp_avg \(p.name)")
                assertClose(state["exp_avg_sq.\(p.name)"]!.values, fixture["\(c).exp_avg_sq.\(p.name)"].values,
                            atol: 1e-9, rtol: 1e-6, "\(c) exp_avg_sq \(p.name)")
            }
            XCTAssertEqual(state["step"]!.values, [Float(steps)])
            XCTAssertEqual(state["step"]!.shape, [])
            XCTAssertLessThan(worst, 1e-6, "\(c): worst parameter difference to torch \(worst)")
        }
    }

    func testDecayAppliesOnlyToFlaggedParameters() throws {
        // Zero gradients: the moments stay zero, so the only change is the decoupled decay p·(1 − lr·wd).
        let decayed = Parameter(name: "w", value: Tensor(shape: [2, 2], values: [1, -2, 3, 4]), weightDecay: true)
        let kept = Parameter(name: "b", value: Tensor(shape: [2], values: [5, 6]), weightDecay: false)
        let optimizer = try AdamW(parameters: [decayed, kept], lr: 0.1, weightDecay: 0.5)
        optimizer.step(lr: 0.1)
        let factor = Float(1 - 0.1 * 0.5)
        XCTAssertEqual(decayed.value.values, [1 * factor, -2 * factor, 3 * factor, 4 * factor])
        XCTAssertEqual(kept.value.values, [5, 6])
        // A first step moves each element by lr·sign(g) (m̂ / √v̂ = ±1 up to eps) whatever the gradient's size.
        let p = Parameter(name: "p", value: Tensor(shape: [3], values: [0, 0, 0]), weightDecay: false)
        let single = try AdamW(parameters: [p], lr: 0.01)
        p.grad.data.update(from: [1e-3, -50, 0], count: 3)
        single.step(lr: 0.01)
        assertClose(p.value.values, [-0.01, 0.01, 0], atol: 1e-7, rtol: 0, "first step")
    }

    func testResultsDoNotDependOnThreadCount() throws {
        let saved = Compute.threads
        defer { Compute.threads = saved }
        var rng = SeededGenerator(seed: 5)
        let count = 100_003
        let initial = Tensor(zeros: [count])
        initial.fillUniform(bound: 1, using: &rng)
        let grads = (0..<3).map { _ -> Tensor in
            let g = Tensor(zeros: [count])
            g.fillUniform(bound: 2, using: &rng)
            return g
        }
        func run(threads: Int) throws -> [Float] {
            Compute.threads = threads
            let p = Parameter(name: "x", value: initial.copy(), weightDecay: true)
            let optimizer = try AdamW(parameters: [p], lr: 1e-2, weightDecay: 0.1)
            for g in grads {
                p.grad.data.update(from: g.data, count: count)
                optimizer.step(lr: 1e-2)
            }
            return p.value.values
        }
        let one = try run(threads: 1), two = try run(threads: 2)
        XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern))
    }

    func testZeroGradClearsEveryGradient() throws {
        let a = Parameter(name: "a", value: Tensor(zeros: [3, 2]))
        let b = Parameter(name: "b", value: Tensor(zeros: [2]))
        a.grad.data.update(repeating: 3, count: 6)
        b.grad.data.update(repeating: -1, count: 2)
        let optimizer = try AdamW(parameters: [a, b], lr: 1e-3)
        optimizer.zeroGrad()
        XCTAssertEqual(a.grad.values, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(b.grad.values, [0, 0])
    }

    func testStateRoundTripContinuesBitForBit() throws {
        func makeParams() -> [Parameter] {
            [Parameter(name: "w", value: Tensor(shape: [2, 3], values: [0.1, 0.2, 0.3, -0.4, 0.5, -0.6])),
             Parameter(name: "b", value: Tensor(shape: [3], values: [0.01, 0.02, 0.03]))]
        }
        func setGrads(_ params: [Parameter], _ t: Int) {
            for (i, p) in params.enumerated() {
                for j in 0..<p.grad.count { p.grad[j] = Float(j + 1) * 0.1 * Float(t + i + 1) * (j % 2 == 0 ? 1 : -1) }
            }
        }
        let straight = makeParams()
        let a = try AdamW(parameters: straight, lr: 1e-2)
        for t in 0..<6 { setGrads(straight, t); a.step(lr: 1e-2 * Float(t + 1)) }

        let first = makeParams()
        let b = try AdamW(parameters: first, lr: 1e-2)
        for t in 0..<3 { setGrads(first, t); b.step(lr: 1e-2 * Float(t + 1)) }
        let exported = b.stateTensors().mapValues { $0.copy() }
        XCTAssertEqual(Set(exported.keys), ["step", "exp_avg.w", "exp_avg_sq.w", "exp_avg.b", "exp_avg_sq.b"])
        let second = makeParams()
        for (p, q) in zip(second, first) { p.value.data.update(from: q.value.data, count: q.value.count) }
        let c = try AdamW(parameters: second, lr: 1e-2)
        try c.loadState(exported, source: "memory")
        XCTAssertEqual(c.stepCount, 3)
        for t in 3..<6 { setGrads(second, t); c.step(lr: 1e-2 * Float(t + 1)) }
        for (p, q) in zip(straight, second) {
            XCTAssertEqual(p.value.values.map(\.bitPattern), q.value.values.map(\.bitPattern), p.name)
        }
        XCTAssertEqual(AdamW.expAvgName("x.y"), "exp_avg.x.y")
        XCTAssertEqual(AdamW.expAvgSqName("x.y"), "exp_avg_sq.x.y")
    }

    // MARK: Errors

    func testInvalidSettingsAreRejected() {
        let p = Parameter(name: "p", value: Tensor(zeros: [2]))
        let cases: [(() throws -> AdamW, String)] = [
            ({ try AdamW(parameters: [p, Parameter(name: "p", value: Tensor(zeros: [1]))], lr: 1) }, "'p' appears more than once"),
            ({ try AdamW(parameters: [p], lr: -1) }, "invalid learning rate -1.0"),
            ({ try AdamW(parameters: [p], lr: .nan) }, "invalid learning rate"),
            ({ try AdamW(parameters: [p], lr: 1, betas: (1, 0.9)) }, "invalid beta1 1.0"),
            ({ try AdamW(parameters: [p], lr: 1, betas: (0.9, -0.1)) }, "invalid beta2 -0.1"),
            ({ try AdamW(parameters: [p], lr: 1, eps: -1) }, "invalid eps -1.0"),
            ({ try AdamW(parameters: [p], lr: 1, weightDecay: -0.5) }, "invalid weight decay -0.5"),
        ]
        for (make, fragment) in cases {
            XCTAssertThrowsError(try make()) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)")
            }
        }
    }

    func testStateValidationNamesTheFileAndTensorAndChangesNothing() throws {
        let w = Parameter(name: "w", value: Tensor(zeros: [2, 2]))
        let b = Parameter(name: "b", value: Tensor(zeros: [2]))
        let optimizer = try AdamW(parameters: [w, b], lr: 0.1)
        w.grad.data.update(repeating: 1, count: 4)
        optimizer.step(lr: 0.1)
        let before = optimizer.stateTensors().mapValues { $0.values }
        func good() -> [String: Tensor] {
            ["step": Tensor(shape: [], values: [7]), "exp_avg.w": Tensor(zeros: [2, 2]), "exp_avg_sq.w": Tensor(zeros: [2, 2]),
             "exp_avg.b": Tensor(zeros: [2]), "exp_avg_sq.b": Tensor(zeros: [2])]
        }
        var cases: [([String: Tensor], String)] = []
        var s = good(); s["exp_avg_sq.b"] = nil
        cases.append((s, "f.safetensors: optimizer state has no tensor 'exp_avg_sq.b' (for parameter 'b' of shape [2])"))
        s = good(); s["exp_avg.w"] = Tensor(zeros: [4])
        cases.append((s, "f.safetensors: optimizer tensor 'exp_avg.w' has shape [4], but parameter 'w' has shape [2, 2]"))
        s = good(); s["exp_avg.gone"] = Tensor(zeros: [1])
        cases.append((s, "f.safetensors: optimizer tensor 'exp_avg.gone' belongs to no parameter of this optimizer"))
        s = good(); s["step"] = nil
        cases.append((s, "f.safetensors: optimizer state has no tensor 'step' (the step count)"))
        s = good(); s["step"] = Tensor(shape: [], values: [2.5])
        cases.append((s, "f.safetensors: optimizer tensor 'step' holds 2.5, expected a whole number"))
        s = good(); s["step"] = Tensor(shape: [], values: [-1])
        cases.append((s, "optimizer tensor 'step' holds -1.0"))
        s = good(); s["step"] = Tensor(shape: [2], values: [1, 2])
        cases.append((s, "f.safetensors: optimizer tensor 'step' has shape [2], expected a scalar"))
        for (state, message) in cases {
            XCTAssertThrowsError(try optimizer.loadState(state, source: "f.safetensors")) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)\nexpected: \(message)")
            }
            XCTAssertEqual(optimizer.stepCount, 1)
            XCTAssertEqual(optimizer.stateTensors().mapValues { $0.values }, before)
        }
        // With a prefix, names are reported in full and other tensors are not looked at.
        var prefixed = Dictionary(uniqueKeysWithValues: good().map { ("optim." + $0.key, $0.value) })
        prefixed["param.w"] = Tensor(zeros: [9])
        try optimizer.validateState(prefixed, source: "r", prefix: "optim.")
        prefixed["optim.exp_avg.b"] = nil
        XCTAssertThrowsError(try optimizer.validateState(prefixed, source: "r", prefix: "optim.")) { error in
            XCTAssertTrue("\(error)".contains("r: optimizer state has no tensor 'optim.exp_avg.b'"), "\(error)")
        }
        try optimizer.loadState(good(), source: "f")
        XCTAssertEqual(optimizer.stepCount, 7)
    }
}
