// Resize tests: bicubic resize, centre crop and shorter-side resize against PIL / torchvision outputs.
import XCTest
@testable import SparseTuning

final class ImageResizeTests: XCTestCase {
    private func source() throws -> RGBImage {
        try ImageDecoder.decode(path: ImageFixture.path("resize_source.png"))
    }

    /// 37×29 source resized down (16×12, 9×7), up (45×33), mixed (50×20, 224×3), along one axis
    /// only (37×17, 60×29), and around Pillow 13's pass-order switch (30×10 and 33×20 vertical
    /// first, 33×21 the tie), all non-integer factors: identical to PIL's BICUBIC (measured max
    /// difference 0; the requirement is ≤ 1).
    func testBicubicMatchesPIL() throws {
        let src = try source()
        for fixture in try ImageFixture.all(prefix: "resize_") {
            let size = try XCTUnwrap(fixture.size)
            let out = src.resized(width: size[0], height: size[1])
            let expected = try fixture.rgbImage()
            XCTAssertEqual(out.width, expected.width, fixture.name)
            XCTAssertEqual(out.height, expected.height, fixture.name)
            XCTAssertEqual(maxByteDiff(out.pixels, expected.pixels), 0, fixture.name)
        }
    }

    func testSameSizeIsIdentity() throws {
        let src = try source()
        XCTAssertEqual(src.resized(width: src.width, height: src.height), src)
    }

    /// torchvision CenterCrop, including odd margins (round half to even) and a crop larger than
    /// the image (black padding).
    func testCenterCropMatchesTorchvision() throws {
        let src = try source()
        for fixture in try ImageFixture.all(prefix: "crop_") {
            let size = try XCTUnwrap(fixture.size)
            XCTAssertEqual(src.centerCropped(width: size[0], height: size[1]), try fixture.rgbImage(), fixture.name)
        }
    }

    func testCenterCropPicksTheMiddle() {
        // 4×1 image with pixel values 0, 1, 2, 3: the 2-wide crop starts at round(1.0) = 1.
        let image = RGBImage(width: 4, height: 1, pixels: [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
        XCTAssertEqual(image.centerCropped(width: 2, height: 1).pixels, [1, 1, 1, 2, 2, 2])
        // 5 wide, crop 2: round(1.5) = 2 (ties to even, like Python).
        let five = RGBImage(width: 5, height: 1, pixels: (0..<5).flatMap { [UInt8($0), UInt8($0), UInt8($0)] })
        XCTAssertEqual(five.centerCropped(width: 2, height: 1).pixels, [2, 2, 2, 3, 3, 3])
    }

    /// The longer side becomes floor(size · long / short), as torchvision's Resize(int).
    func testShorterSideResize() throws {
        let src = try source()  // 37 × 29
        let landscape = src.resizedShorterSide(to: 27)
        XCTAssertEqual([landscape.width, landscape.height], [34, 27])
        // Its pixels against torchvision: Fixtures timm_eval_24 (Resize(27) of this source, then CenterCrop(24)),
        // in ImagePreprocessTests and DataAugmentationTests.
        let portrait = src.resized(width: 29, height: 37).resizedShorterSide(to: 20)
        XCTAssertEqual([portrait.width, portrait.height], [20, 25])
    }
}
