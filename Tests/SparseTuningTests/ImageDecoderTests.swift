// Decoding tests: PNG / JPEG variants against PIL's convert("RGB"), format detection and error messages.
import XCTest
import Foundation
@testable import SparseTuning

final class ImageDecoderTests: XCTestCase {
    /// Every PNG colour type and bit depth (grey 1/4/8/16, grey+alpha 8/16, RGB 8/16, RGBA
    /// 8/16, palette 4/8 with tRNS, Adam7-interlaced RGB and RGBA) decodes exactly as PIL does
    /// (16-bit grey: high byte, where PIL would clip; see PNGDecoder).
    func testPNGVariantsMatchPIL() throws {
        for fixture in try ImageFixture.all(prefix: "png_") {
            let image = try ImageDecoder.decode(path: ImageFixture.path(try XCTUnwrap(fixture.image)))
            XCTAssertEqual(image, try fixture.rgbImage(), fixture.name)
        }
    }

    /// Baseline 4:2:0 / 4:2:2, progressive, greyscale and CMYK JPEGs against PIL (Pillow 13,
    /// bundled libjpeg-turbo 3.2) decoding; measured difference with Debian's libjpeg-turbo 2.1.5: 0.
    func testJPEGVariantsMatchPIL() throws {
        for fixture in try ImageFixture.all(prefix: "jpeg_") {
            let image = try ImageDecoder.decode(path: ImageFixture.path(try XCTUnwrap(fixture.image)))
            let expected = try fixture.rgbImage()
            XCTAssertEqual(image.width, expected.width, fixture.name)
            XCTAssertEqual(image.height, expected.height, fixture.name)
            XCTAssertEqual(maxByteDiff(image.pixels, expected.pixels), 0, fixture.name)
        }
    }

    func testFormatComesFromMagicBytesNotExtension() throws {
        let dir = temporaryDirectory(self)
        let png = ImageFixture.path("png_rgb8.png"), jpeg = ImageFixture.path("jpeg_grey.jpg")
        try FileManager.default.copyItem(atPath: png, toPath: "\(dir)/really-a-png.jpg")
        try FileManager.default.copyItem(atPath: jpeg, toPath: "\(dir)/really-a-jpeg")
        XCTAssertEqual(try ImageDecoder.decode(path: "\(dir)/really-a-png.jpg"), try ImageDecoder.decode(path: png))
        XCTAssertEqual(try ImageDecoder.decode(path: "\(dir)/really-a-jpeg"), try ImageDecoder.decode(path: jpeg))
    }

    // MARK: - Errors

    /// Writes `bytes` to a file in a fresh temporary directory and returns its path.
    private func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = "\(temporaryDirectory(self))/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: ImageFixture.path(name))))
    }

    /// Asserts that decoding `path` throws a SparseTuningError whose message names the file and
    /// contains every one of `fragments`.
    private func assertDecodeFails(_ path: String, _ fragments: String..., line: UInt = #line) {
        XCTAssertThrowsError(try ImageDecoder.decode(path: path), line: line) { error in
            let message = (error as? SparseTuningError)?.message ?? "not a SparseTuningError: \(error)"
            XCTAssertTrue(message.contains(path), "message does not name the file: \(message)", line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(fragment)' not in: \(message)", line: line)
            }
        }
    }

    func testTruncatedJPEG() throws {
        let bytes = try fixtureBytes("jpeg_baseline420.jpg")
        assertDecodeFails(try file("half.jpg", Array(bytes.prefix(bytes.count / 2))),
                          "corrupt or truncated JPEG", "Premature end of JPEG file")
        let progressive = try fixtureBytes("jpeg_progressive420.jpg")
        assertDecodeFails(try file("half-progressive.jpg", Array(progressive.prefix(progressive.count * 2 / 3))),
                          "Premature end of JPEG file")
        assertDecodeFails(try file("header-only.jpg", Array(bytes.prefix(40))), "corrupt or truncated JPEG")
    }

    func testCorruptJPEG() throws {
        var bytes = try fixtureBytes("jpeg_baseline420.jpg")
        // Keep SOI and the first marker's 0xFF, replace everything after with garbage.
        for i in 3..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i &* 7) }
        assertDecodeFails(try file("garbage.jpg", bytes), "corrupt or truncated JPEG")
    }

    func testCorruptPNG() throws {
        let bytes = try fixtureBytes("png_rgb8.png")
        var badData = bytes
        badData[try XCTUnwrap(findChunk("IDAT", in: bytes)) + 10] ^= 0xFF  // zlib fails before the CRC check
        assertDecodeFails(try file("bad-idat.png", badData), "corrupt or truncated PNG", "IDAT")
        var badCRC = bytes
        badCRC[try XCTUnwrap(findChunk("IHDR", in: bytes)) + 21] ^= 0xFF
        assertDecodeFails(try file("bad-crc.png", badCRC), "corrupt or truncated PNG", "IHDR: CRC error")
    }

    func testTruncatedPNG() throws {
        let bytes = try fixtureBytes("png_rgba16.png")
        assertDecodeFails(try file("half.png", Array(bytes.prefix(bytes.count / 2))),
                          "corrupt or truncated PNG", "unexpected end of data")
        assertDecodeFails(try file("signature-only.png", Array(bytes.prefix(8))), "corrupt or truncated PNG")
    }

    func testEmptyTextMissingAndDirectory() throws {
        assertDecodeFails(try file("empty.jpg", []), "empty image file")
        assertDecodeFails(try file("notes.png", Array("hello, not an image\n".utf8)),
                          "unrecognised image format", "expected JPEG or PNG", "68 65 6c 6c")
        let missing = "\(temporaryDirectory(self))/no-such-image.jpg"
        assertDecodeFails(missing, "image file not found")
        assertDecodeFails(temporaryDirectory(self), "is a directory")
    }

    /// Sizes above ImageDecoder.maxPixels are refused from the header, before decoding.
    func testOversizedHeadersAreRejected() throws {
        var png = try fixtureBytes("png_rgb8.png")
        let ihdr = try XCTUnwrap(findChunk("IHDR", in: png))
        // 20000 × 20000 = 400 megapixels, with a valid CRC so libpng accepts the header.
        png.replaceSubrange((ihdr + 8)..<(ihdr + 16), with: [0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20])
        let crc = crc32(png[(ihdr + 4)..<(ihdr + 8 + 13)])
        png.replaceSubrange((ihdr + 21)..<(ihdr + 25), with: withUnsafeBytes(of: crc.bigEndian, Array.init))
        assertDecodeFails(try file("huge.png", png), "20000×20000", "above the limit of 100 megapixels")

        var jpeg = try fixtureBytes("jpeg_grey.jpg")
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        // SOF0: marker, length (2), precision (1), height (2), width (2): 60000 × 60000.
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])
        assertDecodeFails(try file("huge.jpg", jpeg), "60000×60000", "above the limit")
    }

    /// Offset of the length field of the first chunk of type `type`.
    private func findChunk(_ type: String, in png: [UInt8]) -> Int? {
        var offset = 8
        while offset + 8 <= png.count {
            let length = png[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            if String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self) == type { return offset }
            offset += 12 + length
        }
        return nil
    }

    /// CRC-32 as used by PNG chunks.
    private func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }
}
