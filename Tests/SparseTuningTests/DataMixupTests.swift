// Tests of timm-style Mixup/CutMix: smoothed targets, row sums, λ range and correction, the pixel mixing of
// pairs (i, B−1−i), method selection frequencies and argument validation.
import XCTest
import Foundation
@testable import SparseTuning

final class DataMixupTests: XCTestCase {
    private func randomBatch(_ b: Int, _ h: Int, _ w: Int, seed: UInt64) -> Tensor {
        let t = Tensor(zeros: [b, 3, h, w])
        var rng = SeededGenerator(seed: seed)
        t.fillUniform(bound: 1, using: &rng)
        return t
    }

    func testSmoothedTargets() throws {
        let t = try MixupCutmix.smoothedTargets([3, 0], classes: 10, smoothing: 0.1)
        XCTAssertEqual(t.shape, [2, 10])
        XCTAssertEqual(t[3], 0.91, accuracy: 1e-6)
        XCTAssertEqual(t[0], 0.01, accuracy: 1e-6)
        XCTAssertEqual(t[10], 0.91, accuracy: 1e-6)
        XCTAssertEqual(t.values.reduce(0, +), 2, accuracy: 1e-5)
        let hard = try MixupCutmix.smoothedTargets([1], classes: 3, smoothing: 0)
        XCTAssertEqual(hard.values, [0, 1, 0])
        assertThrowsMessage(try MixupCutmix.smoothedTargets([3], classes: 3, smoothing: 0), contains: ["label 3 of sample 0", "0..<3"])
        assertThrowsMessage(try MixupCutmix.smoothedTargets([0], classes: 3, smoothing: 1), contains: ["label smoothing 1.0"])
    }

    func testMixedTargetsFollowTimm() throws {
        // timm: y1·λ + y2·(1−λ) with y2 the one-hot of the reversed labels.
        let t = try MixupCutmix.mixedTargets([0, 1, 2], classes: 3, lambda: 0.7, smoothing: 0)
        XCTAssertEqual(t.values.map { ($0 * 1000).rounded() / 1000 }, [0.7, 0, 0.3, 0, 1, 0, 0.3, 0, 0.7])
    }

    func testBatchMixingInvariants() throws {
        let mix = try MixupCutmix(classes: 5)
        let (b, h, w) = (6, 10, 12)
        var cutmixCount = 0
        let labels = [0, 1, 2, 3, 4, 0]
        for seed in 0..<300 {
            let images = randomBatch(b, h, w, seed: UInt64(seed))
            let original = images.values
            var rng = SeededGenerator(seed: UInt64(1000 + seed))
            let out = try mix.apply(images: images, labels: labels, using: &rng)
            XCTAssertTrue(out.lambda >= 0 && out.lambda <= 1, "λ \(out.lambda)")
            XCTAssertEqual(out.targets.shape, [b, 5])
            for i in 0..<b {
                let row = Array(out.targets.values[i * 5..<(i + 1) * 5])
                XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
                XCTAssertTrue(row.allSatisfy { $0 >= 0.02 - 1e-6 })  // smoothing 0.1 / 5 classes
            }
            let sample = 3 * h * w
            if out.usedCutmix {
                cutmixCount += 1
                let box = try XCTUnwrap(out.box)
                XCTAssertEqual(out.lambda, 1 - Double(box.width * box.height) / Double(h * w), accuracy: 1e-12)
                let values = images.values
                for i in 0..<b {
                    let j = b - 1 - i
                    for c in 0..<3 {
                        for y in 0..<h {
                            for x in 0..<w {
                                let inBox = y >= box.top && y < box.top + box.height && x >= box.left && x < box.left + box.width
                                let k = c * h * w + y * w + x
                                XCTAssertEqual(values[i * sample + k], original[(inBox ? j : i) * sample + k])
                            }
                        }
                    }
                }
            } else {
                XCTAssertNil(out.box)
                let lam = Float(out.lambda), rest = Float(1 - out.lambda)
                let values = images.values
                for i in 0..<b {
                    let j = b - 1 - i
                    for k in stride(from: 0, to: sample, by: 37) {
                        XCTAssertEqual(values[i * sample + k], original[i * sample + k] * lam + original[j * sample + k] * rest,
                                       accuracy: 1e-6)
                    }
                }
                // Target weights follow λ: sample 0 (label 0) is paired with sample 5 (label 0), sample 1 with 4.
                XCTAssertEqual(Double(out.targets[1 * 5 + 1]), out.lambda * 0.9 + 0.02, accuracy: 1e-5)
                XCTAssertEqual(Double(out.targets[1 * 5 + 4]), (1 - out.lambda) * 0.9 + 0.02, accuracy: 1e-5)
            }
        }
        XCTAssertTrue(cutmixCount > 110 && cutmixCount < 190, "\(cutmixCount) CutMix batches of 300")
    }

    func testSameSeedSameMix() throws {
        let mix = try MixupCutmix(classes: 4)
        let a = randomBatch(4, 8, 8, seed: 1), b = randomBatch(4, 8, 8, seed: 1)
        var r1 = SeededGenerator(seed: 77), r2 = SeededGenerator(seed: 77)
        let o1 = try mix.apply(images: a, labels: [0, 1, 2, 3], using: &r1)
        let o2 = try mix.apply(images: b, labels: [0, 1, 2, 3], using: &r2)
        XCTAssertEqual(o1.lambda, o2.lambda)
        XCTAssertEqual(a.values, b.values)
        XCTAssertEqual(o1.targets.values, o2.targets.values)
    }

    func testMethodSelectionAndProbability() throws {
        let onlyCutmix = try MixupCutmix(classes: 3, mixupAlpha: 0, cutmixAlpha: 1)
        let onlyMixup = try MixupCutmix(classes: 3, mixupAlpha: 0.8, cutmixAlpha: 0)
        let never = try MixupCutmix(classes: 3, prob: 0, labelSmoothing: 0)
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<50 {
            XCTAssertTrue(onlyCutmix.parameters(using: &rng).cutmix)
            XCTAssertFalse(onlyMixup.parameters(using: &rng).cutmix)
            let images = randomBatch(2, 4, 4, seed: 3)
            let before = images.values
            let out = try never.apply(images: images, labels: [2, 0], using: &rng)
            XCTAssertEqual(out.lambda, 1)
            XCTAssertFalse(out.usedCutmix)
            XCTAssertEqual(images.values, before)
            XCTAssertEqual(out.targets.values, [0, 0, 1, 1, 0, 0])
        }
    }

    func testCutmixBoxFollowsRandBbox() {
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<500 {
            let lam = RandomSampling.uniform(&rng)
            let (box, corrected) = MixupCutmix.cutmixBox(height: 20, width: 30, lambda: lam, using: &rng)
            let ratio = (1 - lam).squareRoot()
            XCTAssertLessThanOrEqual(box.height, Int(20 * ratio) / 2 * 2)
            XCTAssertLessThanOrEqual(box.width, Int(30 * ratio) / 2 * 2)
            XCTAssertTrue(box.top >= 0 && box.left >= 0 && box.top + box.height <= 20 && box.left + box.width <= 30)
            XCTAssertEqual(corrected, 1 - Double(box.height * box.width) / 600, accuracy: 1e-12)
            XCTAssertTrue(corrected >= lam - 1e-12, "clipping and truncation only shrink the box")
        }
    }

    func testOddBatchPairsMiddleWithItself() throws {
        let mix = try MixupCutmix(classes: 3, mixupAlpha: 1, cutmixAlpha: 0, labelSmoothing: 0)
        let images = randomBatch(3, 4, 4, seed: 8)
        let middle = Array(images.values[48..<96])
        var rng = SeededGenerator(seed: 2)
        let out = try mix.apply(images: images, labels: [0, 1, 2], using: &rng)
        assertClose(Array(images.values[48..<96]), middle, atol: 1e-6, "middle sample")
        XCTAssertEqual(Array(out.targets.values[3..<6]), [0, 1, 0])
    }

    func testValidation() throws {
        assertThrowsMessage(try MixupCutmix(classes: 0), contains: ["at least 1 class"])
        assertThrowsMessage(try MixupCutmix(classes: 3, mixupAlpha: 0, cutmixAlpha: 0), contains: ["both 0"])
        assertThrowsMessage(try MixupCutmix(classes: 3, mixupAlpha: -1), contains: ["must be finite and ≥ 0"])
        assertThrowsMessage(try MixupCutmix(classes: 3, prob: 1.5), contains: ["must be in [0, 1]"])
        assertThrowsMessage(try MixupCutmix(classes: 3, labelSmoothing: -0.1), contains: ["label smoothing"])
        let mix = try MixupCutmix(classes: 3)
        var rng = SeededGenerator(seed: 1)
        assertThrowsMessage(try mix.apply(images: randomBatch(2, 4, 4, seed: 1), labels: [0], using: &rng),
                            contains: ["B = 1 labels", "[2, 3, 4, 4]"])
        assertThrowsMessage(try mix.apply(images: randomBatch(2, 4, 4, seed: 1), labels: [0, 5], using: &rng),
                            contains: ["label 5 of sample 1"])
    }
}
