// PolyLRSchedule against mmengine's LinearLR warm-up + PolyLR (power 1) written out by hand: warm-up from
// start_factor·base linearly to base over W steps, then (base − min)·(1 − (t − W)/(T − W))^p + min.
import XCTest
@testable import SparseTuning

final class TrainingPolyScheduleTests: XCTestCase {
    func testWarmupThenPolynomialDecay() throws {
        let s = try PolyLRSchedule(baseLR: 1e-3, totalSteps: 110, warmupSteps: 10, warmupStartFactor: 1e-6, power: 1, minLR: 0)
        XCTAssertEqual(Double(s.lr(at: 0)), 1e-9, accuracy: 1e-15)
        XCTAssertEqual(Double(s.lr(at: 5)), 1e-3 * (1e-6 + (1 - 1e-6) * 0.5), accuracy: 1e-10)
        XCTAssertEqual(Double(s.lr(at: 10)), 1e-3, accuracy: 1e-10)
        XCTAssertEqual(Double(s.lr(at: 60)), 0.5e-3, accuracy: 1e-10)
        XCTAssertEqual(Double(s.lr(at: 110)), 0, accuracy: 1e-12)
        let p2 = try PolyLRSchedule(baseLR: 1e-2, totalSteps: 100, power: 0.9, minLR: 1e-4)
        XCTAssertEqual(Double(p2.lr(at: 50)), (1e-2 - 1e-4) * pow(0.5, 0.9) + 1e-4, accuracy: 1e-8)
    }

    func testInvalidSchedulesAreErrors() {
        XCTAssertThrowsError(try PolyLRSchedule(baseLR: 1e-3, totalSteps: 10, warmupSteps: 10))
        XCTAssertThrowsError(try PolyLRSchedule(baseLR: -1, totalSteps: 10))
        XCTAssertThrowsError(try PolyLRSchedule(baseLR: 1e-3, totalSteps: 0))
    }
}
