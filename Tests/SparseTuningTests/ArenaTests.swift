// The activation arena: a step planned at its end and the next identical step served from the plan; tensors alive
// in a common phase never share bytes (checked by writing a value per tensor and reading every live tensor back);
// a tensor kept past its step keeps its contents; steps that depart from the plan (sizes, lifetimes, counts) stay
// correct and replan. Then the model: training steps from the plan equal the first (heap) step bit for bit, and
// concurrent forward passes on one model equal sequential ones.
import XCTest
import Foundation
@testable import SparseTuning

final class ArenaTests: XCTestCase {
    // MARK: Scripted steps

    /// One event of a scripted step: allocate `count` floats (allocations are numbered 0, 1, … in order), drop the
    /// last reference to allocation `id`, or end the phase.
    enum Event {
        case alloc(Int)
        case release(Int)
        case boundary
    }

    /// What a scripted step left: the tensors still referenced at its end (with the value each holds) and the
    /// address of every allocation.
    struct StepResult {
        var kept: [(id: Int, tensor: Tensor, value: Float)]
        var addresses: [UnsafeMutablePointer<Float>]
    }

    /// The value allocation `id` of step `step` is filled with (exact in Float).
    func value(step: Int, id: Int) -> Float { Float(step * 1000 + id + 1) }

    /// Runs `script` as one arena step. Each new tensor is filled with its own value; after every allocation and at
    /// every boundary, every tensor still referenced, every tensor released in the current phase (through its raw
    /// pointer: its bytes must stay untouched until the boundary) and every tensor of `outside` (kept from earlier
    /// steps) must still hold its value — so no two of them share bytes.
    @discardableResult
    func runStep(_ arena: Arena, _ script: [Event], step: Int, outside: [(tensor: Tensor, value: Float)] = [],
                 file: StaticString = #filePath, line: UInt = #line) -> StepResult {
        var live: [Int: (Tensor, Float)] = [:]
        var releasedThisPhase: [(id: Int, pointer: UnsafeMutablePointer<Float>, count: Int, value: Float)] = []
        var addresses: [UnsafeMutablePointer<Float>] = []
        func verify(_ when: String) {
            for (id, (t, v)) in live {
                let bad = (0..<t.count).filter { t.data[$0] != v }.count
                XCTAssertEqual(bad, 0, "step \(step), \(when): live allocation \(id) lost \(bad) of \(t.count) values",
                               file: file, line: line)
            }
            for r in releasedThisPhase {
                let bad = (0..<r.count).filter { r.pointer[$0] != r.value }.count
                XCTAssertEqual(bad, 0, "step \(step), \(when): allocation \(r.id), released in this phase, was overwritten "
                               + "before the boundary (\(bad) of \(r.count) values)", file: file, line: line)
            }
            for (k, o) in outside.enumerated() {
                let bad = (0..<o.tensor.count).filter { o.tensor.data[$0] != o.value }.count
                XCTAssertEqual(bad, 0, "step \(step), \(when): tensor \(k) kept from an earlier step lost \(bad) values",
                               file: file, line: line)
            }
        }
        arena.begin()
        for event in script {
            switch event {
            case .alloc(let count):
                let id = addresses.count
                let t = arena.tensor([count])
                let v = value(step: step, id: id)
                t.data.update(repeating: v, count: count)
                addresses.append(t.data)
                live[id] = (t, v)
                verify("after allocation \(id)")
            case .release(let id):
                guard let (t, v) = live.removeValue(forKey: id) else {
                    XCTFail("script releases allocation \(id) twice or before it exists", file: file, line: line)
                    continue
                }
                releasedThisPhase.append((id, t.data, t.count, v))
            case .boundary:
                verify("at a boundary")
                releasedThisPhase.removeAll()
                arena.boundary()
            }
        }
        verify("at the end")
        arena.end()
        return StepResult(kept: live.map { ($0.key, $0.value.0, $0.value.1) }.sorted { $0.id < $1.id }, addresses: addresses)
    }

    /// Three phases. A, B (4 KiB each) in phase 0, A released in it; C (4 KiB) in phase 1, B released in it;
    /// D (4 KiB), E (1 KiB, released at once) and F (1 KiB) in phase 2; C, D, F live to the end. C may take A's
    /// bytes and D B's; E and F share nothing. Peak: C + D + E + F = 10 KiB of 18 KiB allocated.
    let script: [Event] = [
        .alloc(1024), .alloc(1024), .release(0), .boundary,
        .alloc(1024), .release(1), .boundary,
        .alloc(1024), .alloc(256), .release(4), .alloc(256), .boundary,
    ]
    let scriptBytes = 4 * 4096 + 2 * 1024
    let scriptPeak = 2 * 4096 + 2 * 1024  // phase 2: C, D, E, F

    func testIdenticalStepIsServedFromThePlanAndSharesDeadBytes() throws {
        let arena = Arena()
        XCTAssertEqual(arena.plannedBytes, 0)
        runStep(arena, script, step: 0)  // planning: heap tensors, recorded lifetimes
        XCTAssertEqual(arena.plannedSteps, 0, "the first step makes the plan")
        XCTAssertEqual(arena.plannedAllocations, 6)
        XCTAssertGreaterThan(arena.plannedBytes, 0)
        XCTAssertLessThan(arena.plannedBytes, scriptBytes, "tensors with disjoint lifetimes share bytes")
        XCTAssertGreaterThanOrEqual(arena.plannedBytes, scriptPeak, "the plan holds every tensor alive in phase 2")
        XCTAssertEqual(arena.plannedBytes, scriptPeak, "for this pattern the plan needs exactly the peak of live bytes")

        for step in 1...3 {
            let r = runStep(arena, script, step: step)
            XCTAssertEqual(arena.plannedSteps, step, "step \(step) runs from the plan")
            XCTAssertEqual(r.addresses[2], r.addresses[0], "step \(step): C reuses the bytes of A (dead since phase 0)")
            XCTAssertEqual(r.addresses[3], r.addresses[1], "step \(step): D reuses the bytes of B (dead since phase 1)")
            XCTAssertEqual(Set(r.addresses).count, 4, "step \(step): E and F have bytes of their own")
        }
    }

    func testTensorKeptPastItsStepKeepsItsContents() throws {
        let arena = Arena()
        runStep(arena, script, step: 0)
        let kept = runStep(arena, script, step: 1).kept  // C, D, F of a planned step, kept by the caller
        XCTAssertEqual(kept.map(\.id), [2, 3, 5])
        XCTAssertEqual(arena.plannedSteps, 1)
        // The next steps must not hand out the kept tensors' bytes: the arena takes a new block for them.
        let outside = kept.map { (tensor: $0.tensor, value: $0.value) }
        let r2 = runStep(arena, script, step: 2, outside: outside)
        XCTAssertEqual(arena.plannedSteps, 2, "a new block for the same plan is still a planned step")
        XCTAssertFalse(r2.addresses.contains(kept[0].tensor.data), "step 2 reuses none of step 1's kept bytes")
        runStep(arena, script, step: 3, outside: outside)
        XCTAssertEqual(arena.plannedSteps, 3)
        for k in kept {
            XCTAssertEqual(k.tensor.values, [Float](repeating: k.value, count: k.tensor.count), "kept allocation \(k.id)")
        }
    }

    func testStepWithOtherSizesDepartsFromThePlanAndReplans() throws {
        let arena = Arena()
        runStep(arena, script, step: 0)
        runStep(arena, script, step: 1)
        XCTAssertEqual(arena.plannedSteps, 1)
        // C twice as large: from C on the step has bytes of its own; it must still be correct, then planned anew.
        var bigger = script
        bigger[4] = .alloc(2048)
        runStep(arena, bigger, step: 2)
        XCTAssertEqual(arena.plannedSteps, 1, "a step that departs from the plan is not a planned step")
        XCTAssertEqual(arena.plannedAllocations, 6)
        // Phase 2 now holds C (8 KiB), D, E, F.
        XCTAssertGreaterThanOrEqual(arena.plannedBytes, 2 * 4096 + 4096 + 2 * 1024)
        runStep(arena, bigger, step: 3)
        XCTAssertEqual(arena.plannedSteps, 2, "the new sizes are planned")
        // Back to the first sizes: they fit the larger block but are a different plan.
        runStep(arena, script, step: 4)
        XCTAssertEqual(arena.plannedSteps, 2)
        runStep(arena, script, step: 5)
        XCTAssertEqual(arena.plannedSteps, 3)
    }

    func testTensorLivingLongerThanPlannedIsNotOverwritten() throws {
        let arena = Arena()
        runStep(arena, script, step: 0)
        // B now lives into phase 2, where the plan put D on its bytes: D must get bytes of its own.
        let longerB: [Event] = [
            .alloc(1024), .alloc(1024), .release(0), .boundary,
            .alloc(1024), .boundary,
            .alloc(1024), .alloc(256), .release(4), .alloc(256), .release(1), .boundary,
        ]
        let r = runStep(arena, longerB, step: 1)
        XCTAssertNotEqual(r.addresses[3], r.addresses[1], "D does not take the bytes of B while B is alive")
        XCTAssertEqual(arena.plannedSteps, 0, "the step departed from the plan")
        runStep(arena, longerB, step: 2)
        XCTAssertEqual(arena.plannedSteps, 1, "the new lifetimes are planned")
        // And a pointer taken before a release stays valid until the boundary even in a planned step (checked by
        // runStep for E, released at once while F is allocated after it in the same phase).
        runStep(arena, longerB, step: 3)
        XCTAssertEqual(arena.plannedSteps, 2)
    }

    func testMoreOrFewerAllocationsThanPlanned() throws {
        let arena = Arena()
        runStep(arena, script, step: 0)
        runStep(arena, script + [.alloc(512), .alloc(4096)], step: 1)
        XCTAssertEqual(arena.plannedSteps, 0)
        XCTAssertEqual(arena.plannedAllocations, 8)
        runStep(arena, script + [.alloc(512), .alloc(4096)], step: 2)
        XCTAssertEqual(arena.plannedSteps, 1)
        runStep(arena, Array(script.prefix(4)), step: 3)  // A and B only
        XCTAssertEqual(arena.plannedSteps, 1, "a step that stops early is not a planned step")
        XCTAssertEqual(arena.plannedAllocations, 2)
        runStep(arena, Array(script.prefix(4)), step: 4)
        XCTAssertEqual(arena.plannedSteps, 2)
    }

    // MARK: The model

    func testTrainingStepsFromThePlanEqualTheHeapStepBitForBit() throws {
        // Drop-path on, the same generator seed every step: the masks repeat.
        let model = try randomSparseModel(dropPath: 0.3)
        let x = randomImages(batch: 3, seed: 4)
        let labels = [0, 3, 1]
        var grads: [[Float]] = [], losses: [Float] = [], logits: [[Float]] = []
        for _ in 0..<3 {
            for p in model.trainable { p.zeroGrad() }
            var rng = SeededGenerator(seed: 21)
            let (loss, l) = try model.forwardBackward(x, training: true, rng: &rng) {
                try CrossEntropy.forwardBackward(logits: $0, labels: labels)
            }
            losses.append(loss)
            logits.append(l.values)
            grads.append(model.trainable.flatMap(\.grad.values))
        }
        XCTAssertEqual(model.arenas.plannedSteps, 2, "steps 2 and 3 run from the plan made by step 1")
        XCTAssertGreaterThan(model.arenas.plannedBytes, 0)
        XCTAssertGreaterThan(grads[0].filter { $0 != 0 }.count, grads[0].count / 2, "most gradients are non-zero")
        for s in 1..<3 {
            XCTAssertEqual(losses[s].bitPattern, losses[0].bitPattern, "loss of step \(s + 1) vs step 1")
            assertBitIdentical(logits[s], logits[0], "logits of step \(s + 1) (planned arena) vs step 1 (heap)")
            assertBitIdentical(grads[s], grads[0], "gradients of step \(s + 1) (planned arena) vs step 1 (heap)")
        }
    }

    /// Every method (and bf16 products with ToMe): three training steps and three inference passes from identical
    /// state, the first of each on heap tensors, the others from the planned arena — all bit-identical.
    func testEveryMethodRunsFromThePlanBitForBit() throws {
        let cfg = ViTConfig(dim: 32, depth: 4, heads: 2, mlpDim: 64, patch: 8, imageSize: 32, classes: 5)
        let cases = TuningMethod.allCases.map { ($0, false) } + [(TuningMethod.sparseTuning, true)]
        for (method, bf16ToMe) in cases {
            var t = TuningConfig.defaults(for: method)
            t.tsLayers = [1, 2]
            t.rank = 8
            t.prompts = 3
            t.dropPath = 0.3
            if t.keepRate < 1 { t.keepRate = 0.5 }
            if bf16ToMe { t.reduction = .tome; t.tomeR = 3 }
            t.bnHead = method == .linear
            let name = "\(method.rawValue)\(bf16ToMe ? " (bf16, ToMe)" : "")"
            let model = try TunedViT(backbone: VisionTransformer(config: cfg, seed: 1), tuning: t, seed: 1)
            var rng = SeededGenerator(seed: 78)
            for p in model.trainable { for i in 0..<p.value.count { p.value[i] += 0.1 * rng.normal() } }
            model.parametersUpdated()
            if bf16ToMe { model.precision = .bf16 }
            let x = randomImages(batch: 3, seed: 4)
            var train: [[Float]] = [], infer: [[Float]] = []
            for _ in 0..<3 {
                for p in model.trainable { p.zeroGrad() }
                var r = SeededGenerator(seed: 9)
                let (_, logits) = try model.forwardBackward(x, training: true, rng: &r) {
                    try CrossEntropy.forwardBackward(logits: $0, labels: [0, 1, 2])
                }
                train.append(logits.values + model.trainable.flatMap(\.grad.values))
            }
            // After the training steps: those update the BatchNorm head's running statistics.
            for _ in 0..<3 { infer.append(try model.forward(x).values) }
            XCTAssertEqual(model.arenas.plannedSteps, 4, "\(name): training and inference steps 2 and 3 run from their plans")
            for s in 1..<3 {
                assertBitIdentical(train[s], train[0], "\(name): logits and gradients of training step \(s + 1) vs 1")
                assertBitIdentical(infer[s], infer[0], "\(name): logits of inference pass \(s + 1) vs 1")
            }
        }
    }

    /// Shared results of concurrent calls.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int: [[Float]]] = [:]
        private var errors: [String] = []
        func add(_ i: Int, _ v: [Float]) { lock.withLock { values[i, default: []].append(v) } }
        func fail(_ m: String) { lock.withLock { errors.append(m) } }
        var all: [Int: [[Float]]] { lock.withLock { values } }
        var failures: [String] { lock.withLock { errors } }
    }

    func testConcurrentForwardsEqualSequentialOnes() throws {
        // The model under test takes its first calls concurrently (weight packing, arena creation and planning all
        // happen under contention); the reference is an identical model only ever called from one thread.
        let model = try randomSparseModel(dim: 32, depth: 4, keepRate: 0.5, tsLayers: [1, 2])
        let reference = try randomSparseModel(dim: 32, depth: 4, keepRate: 0.5, tsLayers: [1, 2])
        let inputs = (0..<4).map { randomImages(batch: 2, seed: 300 + UInt64($0)) }
        let expected = try inputs.map { try reference.forward($0).values }
        XCTAssertEqual(try reference.forwardResult(inputs[0]).tokenCounts, [17, 10, 7, 7], "κ 0.5 reduces at blocks 1 and 2")
        for i in 1..<4 { XCTAssertNotEqual(expected[i], expected[0], "inputs give different logits") }

        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            for _ in 0..<10 {
                do { results.add(i, try model.forward(inputs[i]).values) } catch { results.fail("thread \(i): \(error)") }
            }
        }
        XCTAssertEqual(results.failures, [])
        let all = results.all
        for i in 0..<4 {
            let runs = all[i] ?? []
            XCTAssertEqual(runs.count, 10, "thread \(i) runs")
            for (r, v) in runs.enumerated() { assertBitIdentical(v, expected[i], "thread \(i), call \(r + 1) vs sequential") }
        }
        // And sequentially afterwards, on the model that ran concurrently.
        for i in 0..<4 { assertBitIdentical(try model.forward(inputs[i]).values, expected[i], "input \(i) after the concurrent calls") }
    }
}
