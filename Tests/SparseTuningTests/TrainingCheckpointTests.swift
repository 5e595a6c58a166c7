// Task files and resume states: round trips, resuming a small training run bit for bit (N steps straight equals
// N/2 + save + load into fresh objects + N/2), and every validation error naming the file and tensor or key.
import XCTest
import Foundation
@testable import SparseTuning

final class TrainingCheckpointTests: XCTestCase {
    private let config = #"{"method":"sparse-tuning","lr":0.001,"train":{"epochs":4,"threads":2},"seed":7}"#

    // MARK: A tiny training run

    /// Everything a run keeps: parameters (fresh values differ per `init` so restoring is visible), AdamW, EMA,
    /// a BatchNorm-like running buffer, and the schedule.
    private final class Run {
        let w: Parameter, b: Parameter
        let optimizer: AdamW
        let ema: ExponentialMovingAverage
        let running = Tensor(zeros: [4])
        let schedule: CosineLRSchedule
        let stepsPerEpoch = 3
        var progress = ResumeProgress()

        init(start: Float) throws {
            w = Parameter(name: "blocks.0.adapter.up.weight",
                          value: Tensor(shape: [3, 4], values: (0..<12).map { start + Float($0) * 0.1 }))
            b = Parameter(name: "blocks.0.adapter.up.bias", value: Tensor(shape: [4], values: [start, -start, 0.5, 1]))
            optimizer = try AdamW(parameters: [w, b], lr: 0.05, weightDecay: 0.01)
            ema = try ExponentialMovingAverage(parameters: [w, b], decay: 0.9, warmup: true)
            schedule = try CosineLRSchedule(baseLR: 0.05, totalSteps: 12, warmupSteps: 3)
        }

        var buffers: [(name: String, tensor: Tensor)] { [("head.0.running_mean", running)] }

        /// One optimizer step on a quadratic with a seeded "data" perturbation derived from (seed, step).
        func trainStep(seed: UInt64) {
            var rng = SeededGenerator(seed: seed &+ UInt64(progress.step))
            optimizer.zeroGrad()
            for i in 0..<12 { w.grad[i] = (w.value[i] - Float(i % 3)) + 0.3 * rng.normal() }
            for i in 0..<4 { b.grad[i] = 2 * (b.value[i] + 1) * rng.uniform() }
            clipGradNorm([w, b], maxNorm: 2)
            optimizer.step(lr: schedule.lr(at: progress.step))
            ema.update()
            for i in 0..<4 { running[i] = 0.9 * running[i] + 0.1 * w.value[i] }
            progress.step += 1
            progress.batchInEpoch += 1
            if progress.batchInEpoch == stepsPerEpoch {
                let metric = Double(-abs(w.value[0]))
                if progress.bestMetric.map({ metric > $0 }) ?? true {
                    progress.bestMetric = metric
                    progress.bestEpoch = progress.epoch
                }
                progress.epoch += 1
                progress.batchInEpoch = 0
            }
        }

        func snapshot() -> [Float] {
            let state = optimizer.stateTensors()
            return w.value.values + b.value.values + running.values
                + state.keys.sorted().flatMap { state[$0]!.values }
                + ema.average(w.name)!.values + ema.average(b.name)!.values + [Float(ema.updates)]
        }
    }

    func testResumeContinuesBitForBit() throws {
        let dir = temporaryDirectory(self)
        let task = dir + "/run.safetensors", resume = TrainingCheckpoint.resumePath(forTask: task)
        XCTAssertEqual(resume, dir + "/run.resume.safetensors")
        let steps = 10, seed: UInt64 = 1234

        let straight = try Run(start: 0.2)
        for _ in 0..<steps { straight.trainStep(seed: seed) }

        let first = try Run(start: 0.2)
        for _ in 0..<(steps / 2) { first.trainStep(seed: seed) }
        try TrainingCheckpoint.saveTask([(first.w.name, first.w.value), (first.b.name, first.b.value)],
                                        configJSON: config, to: task)
        try TrainingCheckpoint.saveResume(to: resume, optimizer: first.optimizer, ema: first.ema, buffers: first.buffers,
                                          progress: first.progress, configJSON: config,
                                          metadata: ["seed": "\(seed)", "data_order": "epoch-seeded"])

        let second = try Run(start: -3)          // different fresh values: everything must come from the file
        second.w.grad.data.update(repeating: 9, count: 12)
        let state = try TrainingCheckpoint.loadResume(from: resume, optimizer: second.optimizer, ema: second.ema,
                                                      buffers: second.buffers, expectedConfigJSON: config)
        XCTAssertEqual(state.progress, first.progress)
        XCTAssertEqual(state.progress.step, 5)
        XCTAssertEqual(state.progress.epoch, 1)
        XCTAssertEqual(state.progress.batchInEpoch, 2)
        XCTAssertEqual(state.progress.bestEpoch, 0)
        XCTAssertEqual(state.metadata, ["seed": "1234", "data_order": "epoch-seeded"])
        XCTAssertEqual(state.configJSON, config)
        XCTAssertEqual(state.path, resume)
        XCTAssertEqual(second.w.grad.values, [Float](repeating: 0, count: 12))
        XCTAssertEqual(second.snapshot().map(\.bitPattern), first.snapshot().map(\.bitPattern))

        second.progress = state.progress
        let resumedSeed = UInt64(state.metadata["seed"]!)!
        for _ in 0..<(steps - steps / 2) { second.trainStep(seed: resumedSeed) }
        XCTAssertEqual(second.progress, straight.progress)
        XCTAssertEqual(second.snapshot().map(\.bitPattern), straight.snapshot().map(\.bitPattern))
        XCTAssertEqual(second.optimizer.stepCount, steps)

        // The task file holds only the trained tensors and the configuration.
        let loaded = try TrainingCheckpoint.loadTask(task)
        XCTAssertEqual(Set(loaded.tensors.keys), [first.w.name, first.b.name])
        XCTAssertEqual(loaded.configJSON, config)
        XCTAssertEqual(loaded.tensors[first.w.name]!.shape, [3, 4])
        let file = try SafetensorsFile.open(task)
        XCTAssertEqual(file.metadata, ["sparse_tuning.config": config, "sparse_tuning.kind": "task"])
        // Both writes are atomic: no temporary files are left.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(),
                       ["run.resume.safetensors", "run.safetensors"])
        // The resume state's layout.
        let saved = try SafetensorsFile.open(resume)
        XCTAssertEqual(Set(saved.names), Set([
            "param.\(first.w.name)", "param.\(first.b.name)", "optim.step",
            "optim.exp_avg.\(first.w.name)", "optim.exp_avg_sq.\(first.w.name)",
            "optim.exp_avg.\(first.b.name)", "optim.exp_avg_sq.\(first.b.name)",
            "ema.updates", "ema.avg.\(first.w.name)", "ema.avg.\(first.b.name)", "buffer.head.0.running_mean",
        ]))
        XCTAssertEqual(saved.metadata["sparse_tuning.kind"], "resume")
        XCTAssertEqual(saved.metadata["trainer.seed"], "1234")
        XCTAssertTrue(saved.metadata["sparse_tuning.resume"]!.hasPrefix(
            #"{"batch_in_epoch":2,"best_epoch":0,"best_metric":"#), saved.metadata["sparse_tuning.resume"]!)
    }

    func testTaskFileRoundTripAndResumePaths() throws {
        let dir = temporaryDirectory(self)
        let path = dir + "/t.safetensors"
        let head = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        try TrainingCheckpoint.saveTask([("head.weight", head), ("head.bias", Tensor(shape: [2], values: [7, 8]))],
                                        configJSON: "{ \"a\" : [1, 2] }", to: path, metadata: ["note": "x"])
        let (tensors, json) = try TrainingCheckpoint.loadTask(path)
        XCTAssertEqual(json, "{ \"a\" : [1, 2] }")
        XCTAssertEqual(tensors["head.weight"]!.values, head.values)
        XCTAssertEqual(tensors["head.bias"]!.values, [7, 8])
        XCTAssertEqual(try SafetensorsFile.open(path).metadata["note"], "x")
        // Loadable by the generic checkpoint reader too.
        XCTAssertEqual(try Checkpoint.load(path).tensors.count, 2)

        XCTAssertEqual(TrainingCheckpoint.resumePath(forTask: "out/task.safetensors"), "out/task.resume.safetensors")
        XCTAssertEqual(TrainingCheckpoint.resumePath(forTask: "out/task"), "out/task.resume.safetensors")
        XCTAssertEqual(TrainingCheckpoint.resumePath(forTask: ".safetensors"), ".safetensors.resume.safetensors")
    }

    // MARK: Errors

    private func assertError(_ body: @autoclosure () throws -> Any, _ expected: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "\(error)\nexpected: \(expected)", file: file, line: line)
        }
    }

    func testTaskFileErrors() throws {
        let dir = temporaryDirectory(self)
        let path = dir + "/t.safetensors"
        let t = Tensor(shape: [1], values: [1])
        assertError(try TrainingCheckpoint.saveTask([("a", t)], configJSON: "{bad", to: path),
                    "\(path): the configuration to save: not valid JSON")
        assertError(try TrainingCheckpoint.saveTask([("a", t)], configJSON: "[1]", to: path),
                    "\(path): the configuration to save: expected an object, found an array")
        assertError(try TrainingCheckpoint.saveTask([("a", t)], configJSON: "{}", to: path,
                                                    metadata: ["sparse_tuning.kind": "x"]),
                    "\(path): metadata key 'sparse_tuning.kind' is reserved")
        assertError(try TrainingCheckpoint.saveTask([("a", t), ("a", t)], configJSON: "{}", to: path),
                    "tensor name 'a' appears more than once")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))

        assertError(try TrainingCheckpoint.loadTask(dir + "/none.safetensors"), "\(dir)/none.safetensors: no such file")
        let plain = dir + "/plain.safetensors"
        try Safetensors.write([("a", t)], to: plain)
        assertError(try TrainingCheckpoint.loadTask(plain),
                    "\(plain): has no 'sparse_tuning.config' metadata, so it is not a task file")
        let broken = dir + "/broken.safetensors"
        try Safetensors.write([("a", t)], metadata: ["sparse_tuning.config": "{\"a\":"], to: broken)
        assertError(try TrainingCheckpoint.loadTask(broken), "\(broken): metadata 'sparse_tuning.config': not valid JSON")

        let run = try Run(start: 0)
        let resume = dir + "/r.safetensors"
        try TrainingCheckpoint.saveResume(to: resume, optimizer: run.optimizer, progress: run.progress, configJSON: "{}")
        assertError(try TrainingCheckpoint.loadTask(resume), "\(resume): is a resume state, not a task file")
    }

    /// Writes a copy of resume state `source` to `path` with `edit` applied to its tensors and metadata.
    private func rewrite(_ source: String, to path: String,
                         _ edit: (inout [String: Tensor], inout [String: String]) -> Void) throws {
        let file = try SafetensorsFile.open(source)
        var tensors = try file.loadAll(), metadata = file.metadata
        edit(&tensors, &metadata)
        try Safetensors.write(tensors.map { ($0.key, $0.value) }, metadata: metadata, to: path)
    }

    func testResumeValidationErrorsNameTheFileAndChangeNothing() throws {
        let dir = temporaryDirectory(self)
        let good = dir + "/good.resume.safetensors", bad = dir + "/bad.resume.safetensors"
        let source = try Run(start: 0.5)
        for _ in 0..<2 { source.trainStep(seed: 1) }
        try TrainingCheckpoint.saveResume(to: good, optimizer: source.optimizer, ema: source.ema, buffers: source.buffers,
                                          progress: source.progress, configJSON: config)

        let target = try Run(start: 9)
        target.trainStep(seed: 3)
        let before = target.snapshot()
        let w = "blocks.0.adapter.up.weight", b = "blocks.0.adapter.up.bias"

        func check(_ expected: String, optimizer: AdamW? = nil, ema: ExponentialMovingAverage?? = nil,
                   buffers: [(name: String, tensor: Tensor)]? = nil, config expectedConfig: String? = nil,
                   ignoring: Set<String> = [], path: String? = nil, line: UInt = #line) {
            assertError(try TrainingCheckpoint.loadResume(
                from: path ?? bad, optimizer: optimizer ?? target.optimizer, ema: ema ?? target.ema,
                buffers: buffers ?? target.buffers, expectedConfigJSON: expectedConfig, ignoringConfigKeys: ignoring),
                expected, line: line)
            XCTAssertEqual(target.snapshot().map(\.bitPattern), before.map(\.bitPattern), "state changed", line: line)
        }

        check("\(dir)/missing.safetensors: no such file", path: dir + "/missing.safetensors")
        let task = dir + "/task.safetensors"
        try TrainingCheckpoint.saveTask([(w, target.w.value)], configJSON: config, to: task)
        check("\(task): is not a resume state (metadata 'sparse_tuning.kind' is 'task', expected 'resume')", path: task)

        // Configuration mismatches list the differing dotted keys; ignored keys may differ.
        let changed = #"{"method":"lora","lr":0.001,"train":{"epochs":8,"threads":2},"seed":7,"extra":1}"#
        check("\(good): was saved with a different configuration (differs in: extra, method, train.epochs); resume "
              + "with the same settings", config: changed, path: good)
        check("(differs in: method)", config: changed, ignoring: ["train.epochs", "extra"], path: good)
        check("\(good): the current configuration: not valid JSON", config: "nope", path: good)
        let fresh = try Run(start: 0)
        XCTAssertNoThrow(try TrainingCheckpoint.loadResume(
            from: good, optimizer: fresh.optimizer, buffers: fresh.buffers,
            expectedConfigJSON: #"{"train":{"threads":2,"epochs":4},"seed":7,"lr":0.001,"method":"sparse-tuning"}"#))
        XCTAssertNoThrow(try TrainingCheckpoint.loadResume(
            from: good, optimizer: fresh.optimizer, buffers: fresh.buffers,
            expectedConfigJSON: #"{"method":"sparse-tuning","lr":0.001,"train":{"epochs":99,"threads":1},"seed":7}"#,
            ignoringConfigKeys: ["train"]))
        // Buffers are strict: a run without them cannot take a state that has them.
        check("\(good): tensor 'buffer.head.0.running_mean' belongs to no buffer of this run", buffers: [], path: good)

        // Tensor problems.
        try rewrite(good, to: bad) { t, _ in t["optim.exp_avg_sq.\(w)"] = nil }
        check("\(bad): optimizer state has no tensor 'optim.exp_avg_sq.\(w)' (for parameter '\(w)' of shape [3, 4])")
        try rewrite(good, to: bad) { t, _ in t["optim.step"] = nil }
        check("\(bad): optimizer state has no tensor 'optim.step' (the step count)")
        try rewrite(good, to: bad) { t, _ in t["optim.exp_avg.\(b)"] = Tensor(zeros: [2, 2]) }
        check("\(bad): optimizer tensor 'optim.exp_avg.\(b)' has shape [2, 2], but parameter '\(b)' has shape [4]")
        try rewrite(good, to: bad) { t, _ in t["param.\(w)"] = nil }
        check("\(bad): resume state has no tensor 'param.\(w)' (parameter '\(w)' of shape [3, 4])")
        try rewrite(good, to: bad) { t, _ in t["param.\(w)"] = Tensor(zeros: [4, 3]) }
        check("\(bad): tensor 'param.\(w)' has shape [4, 3], but parameter '\(w)' has shape [3, 4]")
        try rewrite(good, to: bad) { t, _ in t["param.blocks.1.adapter.up.bias"] = Tensor(zeros: [4]) }
        check("\(bad): tensor 'param.blocks.1.adapter.up.bias' belongs to no parameter of this run")
        try rewrite(good, to: bad) { t, _ in t["optim.exp_avg.blocks.9.x"] = Tensor(zeros: [1]) }
        check("\(bad): optimizer tensor 'optim.exp_avg.blocks.9.x' belongs to no parameter of this optimizer")
        try rewrite(good, to: bad) { t, _ in t["weird"] = Tensor(zeros: [1]) }
        check("\(bad): unexpected tensor 'weird' in a resume state")
        try rewrite(good, to: bad) { t, _ in t["buffer.head.0.running_mean"] = nil }
        check("\(bad): resume state has no tensor 'buffer.head.0.running_mean' (buffer 'head.0.running_mean' of shape [4])")
        try rewrite(good, to: bad) { t, _ in t["buffer.head.0.running_var"] = Tensor(zeros: [4]) }
        check("\(bad): tensor 'buffer.head.0.running_var' belongs to no buffer of this run")
        try rewrite(good, to: bad) { t, _ in t["ema.avg.\(b)"] = nil }
        check("\(bad): EMA state has no tensor 'ema.avg.\(b)' (for parameter '\(b)')")
        try rewrite(good, to: bad) { t, _ in t = t.filter { !$0.key.hasPrefix("ema.") } }
        check("\(bad): EMA state has no tensor 'ema.updates' (the update count)")
        XCTAssertNoThrow(try TrainingCheckpoint.loadResume(from: bad, optimizer: fresh.optimizer, buffers: fresh.buffers))
        check("\(good): buffer name 'x' is given more than once",
              buffers: [("x", Tensor(zeros: [1])), ("x", Tensor(zeros: [1]))], path: good)

        // Metadata problems.
        try rewrite(good, to: bad) { _, m in m["sparse_tuning.config"] = nil }
        check("\(bad): resume state has no 'sparse_tuning.config' metadata")
        try rewrite(good, to: bad) { _, m in m["sparse_tuning.resume"] = nil }
        check("\(bad): resume state has no 'sparse_tuning.resume' metadata")
        try rewrite(good, to: bad) { _, m in m["sparse_tuning.resume"] = "{" }
        check("\(bad): metadata 'sparse_tuning.resume': not valid JSON")
        try rewrite(good, to: bad) { _, m in m["sparse_tuning.resume"] = "[]" }
        check("\(bad): metadata 'sparse_tuning.resume': expected an object, found an array")
        try rewrite(good, to: bad) { _, m in
            m["sparse_tuning.resume"] = #"{"format":2,"epoch":0,"batch_in_epoch":0,"step":0}"#
        }
        check("\(bad): resume format 2 is newer than this version reads (1)")
        try rewrite(good, to: bad) { _, m in m["sparse_tuning.resume"] = #"{"format":1,"epoch":0,"step":0}"# }
        check("\(bad): metadata 'sparse_tuning.resume': at \"batch_in_epoch\": missing")
        try rewrite(good, to: bad) { _, m in
            m["sparse_tuning.resume"] = #"{"format":1,"epoch":-1,"batch_in_epoch":0,"step":0}"#
        }
        check("at \"epoch\": expected a whole number ≥ 0")
        try rewrite(good, to: bad) { _, m in
            m["sparse_tuning.resume"] = #"{"format":1,"epoch":0,"batch_in_epoch":0,"step":0,"best_epoch":"x"}"#
        }
        check("at \"best_epoch\": expected an integer, found a string")
        try rewrite(good, to: bad) { _, m in
            m["sparse_tuning.resume"] = #"{"format":1,"epoch":0,"batch_in_epoch":0,"step":0,"best_metric":"x"}"#
        }
        check("\(bad): metadata 'sparse_tuning.resume': at \"best_metric\": expected a number, found a string")
        try rewrite(good, to: bad) { _, m in
            m["sparse_tuning.resume"] = #"{"format":1,"epoch":3,"batch_in_epoch":1,"step":4,"best_metric":2}"#
        }
        let minimal = try TrainingCheckpoint.loadResume(from: bad, optimizer: fresh.optimizer, buffers: fresh.buffers)
        XCTAssertEqual(minimal.progress, ResumeProgress(epoch: 3, batchInEpoch: 1, step: 4, bestMetric: 2))

        // Saving validates too.
        assertError(try TrainingCheckpoint.saveResume(to: bad, optimizer: target.optimizer, progress: target.progress,
                                                      configJSON: "\"s\""),
                    "\(bad): the configuration to save: expected an object, found a string")
        assertError(try TrainingCheckpoint.saveResume(to: bad, optimizer: target.optimizer,
                                                      progress: ResumeProgress(epoch: -1), configJSON: "{}"),
                    "\(bad): cannot save negative progress")
    }
}
