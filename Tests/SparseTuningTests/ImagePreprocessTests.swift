// Preprocessing tests: normalisation constants, timm eval / VTAB squash tensors against torch, batching.
import XCTest
@testable import SparseTuning

final class ImagePreprocessTests: XCTestCase {
    func testNormalizationPresets() {
        XCTAssertEqual(Normalization(name: "imagenet"), .imagenet)
        XCTAssertEqual(Normalization(name: "inception"), .inception)
        XCTAssertNil(Normalization(name: "ImageNet-21k"))
        XCTAssertEqual(Normalization.imagenet.mean, [0.485, 0.456, 0.406])
        XCTAssertEqual(Normalization.imagenet.std, [0.229, 0.224, 0.225])
        XCTAssertEqual(Normalization.inception.mean, [0.5, 0.5, 0.5])
        XCTAssertEqual(Normalization.inception.std, [0.5, 0.5, 0.5])
    }

    /// timm `transforms_imagenet_eval` (Resize(floor(S / crop_pct)), CenterCrop(S), ToTensor,
    /// Normalize) for (S, crop_pct) = (24, 0.875), (20, 0.8), (16, 1.0). 20 / 0.8 is 25 in
    /// double precision but 24.99… from Float(0.8), so this also checks the decimal handling.
    func testTimmEvalTransform() throws {
        let src = try ImageDecoder.decode(path: ImageFixture.path("resize_source.png"))
        for fixture in try ImageFixture.all(prefix: "timm_eval_") {
            let size = try XCTUnwrap(fixture.size)[0]
            let pct = Float(try XCTUnwrap(fixture.cropPct))
            let pre = ImagePreprocessor(size: size, mode: .shortSideCrop(cropPct: pct), normalization: .imagenet)
            let t = pre.tensor(src)
            XCTAssertEqual(t.shape, [3, size, size])
            assertClose(t.values, try fixture.floats(), atol: 1e-6, rtol: 0, fixture.name)
        }
    }

    /// VTAB: bicubic squash to S×S, inception normalisation.
    func testSquashTransform() throws {
        let src = try ImageDecoder.decode(path: ImageFixture.path("resize_source.png"))
        let fixture = try XCTUnwrap(try ImageFixture.all(prefix: "squash_16_inception").first)
        let t = ImagePreprocessor(size: 16, mode: .squash, normalization: .inception).tensor(src)
        XCTAssertEqual(t.shape, [3, 16, 16])
        assertClose(t.values, try fixture.floats(), atol: 1e-6, rtol: 0, fixture.name)
    }

    func testPixelToFloat() {
        let image = RGBImage(width: 1, height: 1, pixels: [0, 128, 255])
        let t = ImagePreprocessor(size: 1, normalization: .imagenet).tensor(image)
        let expected: [Float] = [(0 - 0.485) / 0.229, (Float(128) / 255 - 0.456) / 0.224, (1 - 0.406) / 0.225]
        XCTAssertEqual(t.values, expected)
    }

    func testBatchesStackSingleTensors() throws {
        let paths = ["resize_source.png", "png_rgb8.png", "jpeg_progressive420.jpg"].map { ImageFixture.path($0) }
        let images = try paths.map { try ImageDecoder.decode(path: $0) }
        let pre = ImagePreprocessor(size: 8, mode: .shortSideCrop(cropPct: 0.875), normalization: .imagenet)
        let stacked = images.flatMap { pre.tensor($0).values }
        let fromImages = pre.batch(images)
        XCTAssertEqual(fromImages.shape, [3, 3, 8, 8])
        XCTAssertEqual(fromImages.values, stacked)
        let fromPaths = try pre.batch(paths: paths)
        XCTAssertEqual(fromPaths.shape, [3, 3, 8, 8])
        XCTAssertEqual(fromPaths.values, stacked)
    }

    func testBatchFromPathsNamesTheFailingFile() throws {
        let missing = "\(temporaryDirectory(self))/missing.jpg"
        let paths = [ImageFixture.path("png_rgb8.png"), missing]
        XCTAssertThrowsError(try ImagePreprocessor(size: 8).batch(paths: paths)) { error in
            XCTAssertEqual((error as? SparseTuningError)?.message, "image file not found: '\(missing)'")
        }
    }
}
