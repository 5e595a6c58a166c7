// PNG encoder tests: RGB / RGBA round trips through the decoder, atomic replacement, error messages.
import XCTest
import Foundation
@testable import SparseTuning

final class ImagePNGEncoderTests: XCTestCase {
    func testRGBRoundTrip() throws {
        let image = try ImageDecoder.decode(path: ImageFixture.path("resize_source.png"))
        let path = "\(temporaryDirectory(self))/out.png"
        try PNGEncoder.write(image, to: path)
        XCTAssertEqual(try ImageDecoder.decode(path: path), image)
    }

    func testRGBARoundTripDropsAlphaOnDecode() throws {
        let (width, height) = (7, 5)
        let rgba = (0..<(width * height * 4)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let path = "\(temporaryDirectory(self))/alpha.png"
        try PNGEncoder.write(rgba: rgba, width: width, height: height, to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(bytes[25], 6, "IHDR colour type should be RGBA")
        let decoded = try ImageDecoder.decode(path: path)
        let rgb = (0..<(width * height)).flatMap { rgba[(4 * $0)..<(4 * $0 + 3)] }
        XCTAssertEqual(decoded, RGBImage(width: width, height: height, pixels: rgb))
    }

    func testReplacesExistingFileWithoutLeavingTemporaries() throws {
        let dir = temporaryDirectory(self)
        let path = "\(dir)/plot.png"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let image = RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 200, count: 12))
        try PNGEncoder.write(image, to: path)
        XCTAssertEqual(try ImageDecoder.decode(path: path), image)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["plot.png"])
    }

    func testUnwritablePathIsNamed() throws {
        let path = "\(temporaryDirectory(self))/no/such/dir/plot.png"
        let image = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        XCTAssertThrowsError(try PNGEncoder.write(image, to: path)) { error in
            let message = (error as? SparseTuningError)?.message ?? "\(error)"
            XCTAssertTrue(message.hasPrefix("\(path): "), message)  // the one atomic writer's form: path, then reason
            XCTAssertTrue(message.contains("No such file or directory"), message)
        }
    }
}
