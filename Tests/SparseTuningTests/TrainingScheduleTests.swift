// Learning-rate schedule against timm's CosineLRScheduler (t_in_epochs=False) and the keep-rate warm-up against
// EViT's adjust_keep_rate, both from a fixture; plus the formula at hand-checked points and every invalid setting.
import XCTest
import Foundation
@testable import SparseTuning

final class TrainingScheduleTests: XCTestCase {
    private func configs() throws -> (Fixture, [String: JSONTree]) {
        let fixture = try Fixture("optim/schedule.safetensors")
        let all = try JSONCoding.decode([String: JSONTree].self, from: fixture.meta("config"), source: "schedule config")
        return (fixture, all)
    }

    func testCosineScheduleMatchesTimm() throws {
        let (fixture, all) = try configs()
        let keys = all.keys.filter { $0.hasPrefix("s") }.sorted()
        XCTAssertEqual(keys.count, 5)
        for key in keys {
            let c = all[key]!
            let schedule = try CosineLRSchedule(
                baseLR: Float(c["lr"]!.double!), totalSteps: c["total"]!.int!, warmupSteps: c["warmup"]!.int!,
                warmupInitLR: Float(c["warmup_lr_init"]!.double!), minLR: Float(c["lr_min"]!.double!),
                warmupPrefix: c["warmup_prefix"]!.bool!)
            let expected = fixture["\(key).lr"].values
            let ours = (0..<expected.count).map { schedule.lr(at: $0) }
            assertClose(ours, expected, atol: 1e-12, rtol: 1e-6, "\(key) \(c)")
        }
    }

    func testCosineScheduleFormulaAtKnownPoints() throws {
        // 10 warm-up steps from 0, then cosine over the remaining 90 to 0 (docs/METHOD.md §5's VTAB recipe, per step).
        let s = try CosineLRSchedule(baseLR: 1e-3, totalSteps: 100, warmupSteps: 10)
        XCTAssertEqual(s.lr(at: 0), 0)
        XCTAssertEqual(s.lrDouble(at: 5), 0.5e-3, accuracy: 1e-15)
        XCTAssertEqual(s.lrDouble(at: 10), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(s.lrDouble(at: 55), 0.5e-3, accuracy: 1e-15)          // half-way through the cosine
        XCTAssertEqual(s.lrDouble(at: 99), 0.5e-3 * (1 + cos(Double.pi * 89 / 90)), accuracy: 1e-18)
        XCTAssertEqual(s.lr(at: 100), 0)
        XCTAssertEqual(s.lr(at: 1_000), 0)
        XCTAssertEqual(s.lr(at: -3), 0)
        // Floor and initial rate; without warm-up prefix the cosine spans every step.
        let t = try CosineLRSchedule(baseLR: 1, totalSteps: 10, warmupSteps: 2, warmupInitLR: 0.5, minLR: 0.1,
                                     warmupPrefix: false)
        XCTAssertEqual(t.lrDouble(at: 1), 0.75)
        XCTAssertEqual(t.lrDouble(at: 5), 0.1 + 0.45 * (1 + cos(Double.pi / 2)), accuracy: 1e-15)
        XCTAssertEqual(t.lr(at: 10), 0.1)
        let flat = try CosineLRSchedule(baseLR: 2e-3, totalSteps: 1)
        XCTAssertEqual(flat.lr(at: 0), 2e-3)
        XCTAssertEqual(flat.lr(at: 1), 0)
    }

    func testCosineScheduleRejectsInvalidSettings() {
        let cases: [(() throws -> CosineLRSchedule, String)] = [
            ({ try CosineLRSchedule(baseLR: -1, totalSteps: 10) }, "invalid base rate -1.0"),
            ({ try CosineLRSchedule(baseLR: .infinity, totalSteps: 10) }, "invalid base rate inf"),
            ({ try CosineLRSchedule(baseLR: 1, totalSteps: 10, warmupInitLR: -1) }, "invalid warm-up initial rate -1.0"),
            ({ try CosineLRSchedule(baseLR: 1, totalSteps: 10, minLR: .nan) }, "invalid minimum rate nan"),
            ({ try CosineLRSchedule(baseLR: 1, totalSteps: 0) }, "total length 0 steps, expected at least 1"),
            ({ try CosineLRSchedule(baseLR: 1, totalSteps: 10, warmupSteps: -2) }, "negative warm-up length -2"),
            ({ try CosineLRSchedule(baseLR: 1, totalSteps: 10, warmupSteps: 10) },
             "warm-up of 10 steps leaves no step for the cosine decay (total 10)"),
        ]
        for (make, fragment) in cases {
            XCTAssertThrowsError(try make()) { error in
                XCTAssertTrue("\(error)".hasPrefix("learning-rate schedule: "), "\(error)")
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)")
            }
        }
        XCTAssertNoThrow(try CosineLRSchedule(baseLR: 1, totalSteps: 10, warmupSteps: 10, warmupPrefix: false))
    }

    func testKeepRateScheduleMatchesEViT() throws {
        let (fixture, all) = try configs()
        let keys = all.keys.filter { $0.hasPrefix("k") }.sorted()
        XCTAssertEqual(keys.count, 2)
        for key in keys {
            let c = all[key]!
            let schedule = try KeepRateSchedule(target: Float(c["target"]!.double!), startEpoch: c["start_epoch"]!.int!,
                                                epochs: c["epochs"]!.int!, stepsPerEpoch: c["steps_per_epoch"]!.int!)
            let expected = fixture["\(key).keep"].values
            let ours = (0..<expected.count).map { schedule.keepRate(atStep: $0) }
            assertClose(ours, expected, atol: 0, rtol: 1e-7, "\(key) \(c)")
        }
    }

    func testKeepRateScheduleFormulaAndErrors() throws {
        let s = try KeepRateSchedule(target: 0.7, startEpoch: 2, epochs: 4, stepsPerEpoch: 5)
        XCTAssertEqual(s.keepRate(atStep: 0), 1)
        XCTAssertEqual(s.keepRate(atStep: 9), 1)                      // epoch 1
        XCTAssertEqual(s.keepRate(atStep: 10), 1)                     // first step of epoch 2: cos 0
        XCTAssertEqual(s.keepRate(atStep: 20), 0.85, accuracy: 1e-7)  // half-way
        XCTAssertEqual(s.keepRate(atStep: 29), Float(0.7 + 0.3 * 0.5 * (1 + cos(Double.pi * 19 / 20))))
        XCTAssertEqual(s.keepRate(atStep: 30), 0.7)
        XCTAssertEqual(s.keepRate(atStep: 10_000), 0.7)
        let constant = try KeepRateSchedule.constant(0.5)
        XCTAssertEqual([0, 1, 100].map { constant.keepRate(atStep: $0) }, [0.5, 0.5, 0.5])

        let cases: [(() throws -> KeepRateSchedule, String)] = [
            ({ try KeepRateSchedule(target: 0, epochs: 1, stepsPerEpoch: 1) }, "target keep rate 0.0 is outside (0, 1]"),
            ({ try KeepRateSchedule(target: 1.5, epochs: 1, stepsPerEpoch: 1) }, "target keep rate 1.5 is outside (0, 1]"),
            ({ try KeepRateSchedule(target: 0.5, startEpoch: -1, epochs: 1, stepsPerEpoch: 1) }, "negative start epoch -1"),
            ({ try KeepRateSchedule(target: 0.5, epochs: -1, stepsPerEpoch: 1) }, "negative length -1 epochs"),
            ({ try KeepRateSchedule(target: 0.5, epochs: 1, stepsPerEpoch: 0) }, "0 steps per epoch, expected at least 1"),
        ]
        for (make, fragment) in cases {
            XCTAssertThrowsError(try make()) { error in
                XCTAssertEqual("\(error)", "keep-rate schedule: " + fragment)
            }
        }
    }
}
