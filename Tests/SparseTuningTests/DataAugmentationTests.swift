// Tests of the sampling primitives (uniform, bounded integers, Gamma, Beta, permutations), RandomResizedCrop's box
// statistics and fallback, flips, and the deterministic evaluation transforms.
import XCTest
import Foundation
@testable import SparseTuning

final class DataAugmentationTests: XCTestCase {
    func testUniformIntegersAndPermutation() {
        var rng = SeededGenerator(seed: 1)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 {
            let u = RandomSampling.uniform(&rng)
            XCTAssertTrue(u >= 0 && u < 1)
            counts[RandomSampling.integer(below: 7, &rng)] += 1
        }
        XCTAssertTrue(counts.allSatisfy { $0 > 850 && $0 < 1150 }, "\(counts)")
        XCTAssertEqual(RandomSampling.integer(below: 1, &rng), 0)
        let p = RandomSampling.permutation(100, &rng)
        XCTAssertEqual(p.sorted(), Array(0..<100))
        XCTAssertNotEqual(p, Array(0..<100))
        var a = RandomSampling.generator(5, 2, 9), b = RandomSampling.generator(5, 2, 9), c = RandomSampling.generator(5, 9, 2)
        let first = a.next()
        XCTAssertEqual(first, b.next())
        XCTAssertNotEqual(first, c.next())
        XCTAssertNotEqual(RandomSampling.derivedSeed(5, 1), RandomSampling.derivedSeed(5, 1, 0))
    }

    func testGammaAndBetaMoments() {
        var rng = SeededGenerator(seed: 42)
        let n = 20000
        for shape in [0.3, 1.0, 3.2] {
            let draws = (0..<n).map { _ in RandomSampling.gamma(shape: shape, &rng) }
            let mean = draws.reduce(0, +) / Double(n)
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            XCTAssertTrue(draws.allSatisfy { $0 >= 0 })
            XCTAssertEqual(mean, shape, accuracy: 0.05 * max(shape, 1), "Gamma(\(shape)) mean")
            XCTAssertEqual(variance, shape, accuracy: 0.1 * max(shape, 1), "Gamma(\(shape)) variance")
        }
        for (a, b) in [(0.8, 0.8), (1.0, 1.0), (2.0, 5.0)] {
            let draws = (0..<n).map { _ in RandomSampling.beta(a, b, &rng) }
            let mean = draws.reduce(0, +) / Double(n)
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            XCTAssertTrue(draws.allSatisfy { $0 >= 0 && $0 <= 1 })
            XCTAssertEqual(mean, a / (a + b), accuracy: 0.01, "Beta(\(a), \(b)) mean")
            XCTAssertEqual(variance, a * b / ((a + b) * (a + b) * (a + b + 1)), accuracy: 0.005, "Beta(\(a), \(b)) variance")
        }
    }

    func testRandomResizedCropBoxesWithinTorchvisionBounds() throws {
        let crop = try RandomResizedCrop(size: 8)
        for (width, height) in [(200, 150), (64, 64), (90, 120)] {
            var rng = SeededGenerator(seed: UInt64(width))
            var fractions: [Double] = [], ratios: [Double] = [], fallbacks = 0
            for _ in 0..<3000 {
                let box = crop.box(width: width, height: height, using: &rng)
                XCTAssertTrue(box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0
                              && box.top + box.height <= height && box.left + box.width <= width, "\(box)")
                if box == RandomResizedCrop.fallbackBox(width: width, height: height, ratio: crop.ratio) {
                    fallbacks += 1
                    continue
                }
                // w = round(√(A·r)), h = round(√(A/r)): area and ratio are those drawn up to the rounding of w and h.
                let w = Double(box.width), h = Double(box.height), area = Double(width * height)
                XCTAssertGreaterThanOrEqual((w + 0.5) * (h + 0.5) / area, 0.08, "\(box)")
                XCTAssertLessThanOrEqual((w - 0.5) * (h - 0.5) / area, 1.0, "\(box)")
                XCTAssertGreaterThanOrEqual((w + 0.5) / (h - 0.5), 0.75, "\(box)")
                XCTAssertLessThanOrEqual((w - 0.5) / (h + 0.5), 4.0 / 3.0, "\(box)")
                fractions.append(w * h / area)
                ratios.append(w / h)
            }
            XCTAssertLessThan(fallbacks, 30, "\(width)×\(height)")
            XCTAssertLessThan(fractions.min()!, 0.1)
            XCTAssertGreaterThan(fractions.max()!, 0.8)
            XCTAssertLessThan(ratios.min()!, 0.8)
            XCTAssertGreaterThan(ratios.max()!, 1.25)
            let mean = fractions.reduce(0, +) / Double(fractions.count)
            XCTAssertTrue(mean > 0.3 && mean < 0.6, "mean area fraction \(mean)")
        }
    }

    func testFallbackToCentreCrop() throws {
        XCTAssertEqual(RandomResizedCrop.fallbackBox(width: 400, height: 100, ratio: 0.75...(4.0 / 3.0)),
                       CropBox(top: 0, left: 133, height: 100, width: 133))
        XCTAssertEqual(RandomResizedCrop.fallbackBox(width: 100, height: 400, ratio: 0.75...(4.0 / 3.0)),
                       CropBox(top: 133, left: 0, height: 133, width: 100))
        XCTAssertEqual(RandomResizedCrop.fallbackBox(width: 120, height: 100, ratio: 0.75...(4.0 / 3.0)),
                       CropBox(top: 0, left: 0, height: 100, width: 120))
        // An area range above the image always fails the 10 attempts: torchvision then returns the fallback box.
        let impossible = try RandomResizedCrop(size: 4, scale: 1.5...2)
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<20 {
            XCTAssertEqual(impossible.box(width: 400, height: 100, using: &rng), CropBox(top: 0, left: 133, height: 100, width: 133))
            XCTAssertEqual(impossible.box(width: 50, height: 50, using: &rng), CropBox(top: 0, left: 0, height: 50, width: 50))
        }
        // A degenerate image still gets a valid box.
        XCTAssertEqual(try RandomResizedCrop(size: 4).box(width: 1, height: 1, using: &rng), CropBox(top: 0, left: 0, height: 1, width: 1))
    }

    func testRandomResizedCropValidation() {
        assertThrowsMessage(try RandomResizedCrop(size: 0), contains: ["size must be positive"])
        assertThrowsMessage(try RandomResizedCrop(size: 4, scale: -1...1), contains: ["scale range"])
        assertThrowsMessage(try RandomResizedCrop(size: 4, ratio: 0...1), contains: ["ratio range"])
    }

    func testCropAndFlip() {
        let image = patternImage(width: 7, height: 5, seed: 3)
        let cropped = ImageAugmentation.crop(image, CropBox(top: 1, left: 2, height: 3, width: 4))
        XCTAssertEqual([cropped.width, cropped.height], [4, 3])
        for y in 0..<3 {
            for x in 0..<4 {
                let s = ((y + 1) * 7 + x + 2) * 3, d = (y * 4 + x) * 3
                XCTAssertEqual(Array(cropped.pixels[d..<d + 3]), Array(image.pixels[s..<s + 3]))
            }
        }
        let flipped = ImageAugmentation.flippedHorizontally(image)
        XCTAssertEqual(Array(flipped.pixels[0..<3]), Array(image.pixels[18..<21]))
        XCTAssertNotEqual(flipped, image)
        XCTAssertEqual(ImageAugmentation.flippedHorizontally(flipped), image)
    }

    func testTrainTransformIsDeterministicAndFlipsHalfTheTime() throws {
        let image = patternImage(width: 40, height: 30, seed: 1)
        let train = try ImageAugmentation.timmTrain(size: 16)
        XCTAssertTrue(train.isRandom)
        XCTAssertEqual(train.size, 16)
        let a = train.apply(image, seed: 9, epoch: 2, index: 17), b = train.apply(image, seed: 9, epoch: 2, index: 17)
        XCTAssertEqual(a, b)
        XCTAssertEqual([a.width, a.height], [16, 16])
        XCTAssertNotEqual(a, train.apply(image, seed: 9, epoch: 3, index: 17))
        XCTAssertNotEqual(a, train.apply(image, seed: 9, epoch: 2, index: 18))
        XCTAssertNotEqual(a, train.apply(image, seed: 10, epoch: 2, index: 17))

        // With a crop that always takes the whole square image, the output is the image or its mirror.
        let square = patternImage(width: 16, height: 16, seed: 4)
        let whole = ImageAugmentation.train(try RandomResizedCrop(size: 16, scale: 1...1, ratio: 1...1), flipProbability: 0.5)
        var flips = 0
        for index in 0..<1000 {
            let out = whole.apply(square, seed: 1, epoch: 0, index: index)
            if out == square { continue }
            XCTAssertEqual(out, ImageAugmentation.flippedHorizontally(square))
            flips += 1
        }
        XCTAssertTrue(flips > 440 && flips < 560, "\(flips) flips in 1000")
        let never = ImageAugmentation.train(try RandomResizedCrop(size: 16, scale: 1...1, ratio: 1...1), flipProbability: 0)
        XCTAssertEqual(never.apply(square, seed: 1, epoch: 0, index: 3), square)
    }

    /// torchvision's `ToTensor` + `Normalize` written out: (3, H, W) floats (p/255 − mean)/std, channel-major.
    private func normalized(_ image: RGBImage, _ n: Normalization) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * image.width * image.height)
        let plane = image.width * image.height
        for i in 0..<plane {
            for c in 0..<3 { out[c * plane + i] = (Float(image.pixels[3 * i + c]) / 255 - n.mean[c]) / n.std[c] }
        }
        return out
    }

    /// The deterministic transforms against torch: timm's eval transform (Resize(⌊S/crop_pct⌋), CenterCrop(S)) and
    /// VTAB's squash (bicubic resize to S×S), compared after normalisation with the fixtures of ImagePreprocessTests.
    func testEvalTransformsMatchTorch() throws {
        let src = try ImageDecoder.decode(path: ImageFixture.path("resize_source.png"))
        let timmFixtures = try ImageFixture.all(prefix: "timm_eval_")
        XCTAssertGreaterThanOrEqual(timmFixtures.count, 3)
        for fixture in timmFixtures {
            let size = try XCTUnwrap(fixture.size)[0]
            let timm = ImageAugmentation.eval(size: size, mode: .shortSideCrop(cropPct: Float(try XCTUnwrap(fixture.cropPct))))
            XCTAssertFalse(timm.isRandom)
            let out = timm.apply(src, seed: 5, epoch: 3, index: 9)
            XCTAssertEqual([out.width, out.height], [size, size])
            let norm = try XCTUnwrap(Normalization(name: fixture.normalization ?? "imagenet"))
            assertClose(normalized(out, norm), try fixture.floats(), atol: 1e-6, rtol: 0, "eval transform vs \(fixture.name)")
        }
        let squash = try XCTUnwrap(try ImageFixture.all(prefix: "squash_16_inception").first)
        let vtab = ImageAugmentation.vtab(size: 16)
        XCTAssertFalse(vtab.isRandom)
        for (seed, epoch, index) in [(UInt64(1), 0, 0), (5, 3, 9)] {
            assertClose(normalized(vtab.apply(src, seed: seed, epoch: epoch, index: index), .inception), try squash.floats(),
                        atol: 1e-6, rtol: 0, "VTAB squash (seed \(seed), epoch \(epoch), index \(index)) vs \(squash.name)")
        }
    }
}
