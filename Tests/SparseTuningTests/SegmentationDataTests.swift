// Segmentation data: PNG masks keep indices, dataset layouts and their errors, augmentation against OpenCV and
// mmseg's rules, training samples through the BatchLoader, palette PNGs and overlays, the synthetic dataset.
import XCTest
import Foundation
@testable import SparseTuning

final class SegmentationDataTests: XCTestCase {
    // MARK: masks

    func testMasksKeepPaletteIndicesAndGreyValues() throws {
        let masks = try segmentationFixtures()["masks"] as! [String: Any]
        let labels = ints(masks["labels"]).map(UInt8.init), labels4 = ints(masks["labels4"]).map(UInt8.init)
        for (name, want) in [("mask_palette8.png", labels), ("mask_palette4.png", labels4), ("mask_grey.png", labels),
                             ("mask_grey16.png", labels)] {
            let map = try LabelMap.read(path: fixturePath("segmentation/\(name)"))
            XCTAssertEqual(map.width, 7, name)
            XCTAssertEqual(map.height, 5, name)
            XCTAssertEqual(map.labels, want, name)
        }
        XCTAssertThrowsError(try LabelMap.read(path: fixturePath("segmentation/mask_rgb.png"))) { error in
            XCTAssertTrue("\(error)".contains("RGB") && "\(error)".contains("mask_rgb.png"), "\(error)")
        }
        XCTAssertThrowsError(try LabelMap.decode(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]), name: "cut.png")) {
            XCTAssertTrue("\($0)".contains("cut.png"))
        }
        XCTAssertThrowsError(try LabelMap.read(path: "/nonexistent/m.png")) { XCTAssertTrue("\($0)".contains("m.png")) }
    }

    func testIndexedPNGRoundTripsIndicesAndCarriesThePalette() throws {
        let dir = temporaryDirectory(self)
        let map = LabelMap(width: 4, height: 2, labels: [0, 1, 2, 3, 149, 0, 255, 7])
        try SegmentationPalette.writeIndexedPNG(map, palette: ADE20K.palette, to: "\(dir)/p.png")
        XCTAssertEqual(try LabelMap.read(path: "\(dir)/p.png"), map)
        let rgb = try ImageDecoder.decode(path: "\(dir)/p.png")  // the palette expanded by the RGB decoder
        XCTAssertEqual(Array(rgb.pixels[0..<6]), [120, 120, 120, 180, 120, 120])
        XCTAssertEqual(Array(rgb.pixels[12..<15]), [92, 0, 255])  // ADE class 149
        XCTAssertEqual(Array(rgb.pixels[18..<21]), [0, 0, 0])  // 255 beyond the palette: black
        XCTAssertEqual(SegmentationPalette.generic(count: 4), [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]])
        XCTAssertEqual(ADE20K.classes.count, 150)
        XCTAssertEqual(ADE20K.classes[7], "bed ")
        XCTAssertEqual(ADE20K.classes[149], "flag")
        // Overlay: (pixel + colour + 1) / 2; label outside the palette keeps the pixel.
        let image = RGBImage(width: 2, height: 1, pixels: [10, 20, 31, 200, 100, 0])
        let over = SegmentationPalette.overlay(image, prediction: LabelMap(width: 2, height: 1, labels: [1, 9]),
                                               palette: [[0, 0, 0], [255, 0, 100]])
        XCTAssertEqual(over.pixels, [133, 10, 66, 200, 100, 0])
        try SegmentationPalette.writeOverlayPNG(image, prediction: LabelMap(width: 2, height: 1, labels: [1, 9]),
                                                palette: [[0, 0, 0], [255, 0, 100]], to: "\(dir)/o.png")
        XCTAssertEqual(try ImageDecoder.decode(path: "\(dir)/o.png"), over)
    }

    // MARK: datasets

    /// Writes images (grey value = 10·label) and masks for `stems` under root/images/split and root/masks/split.
    static func writePairs(_ root: String, imageDir: String, maskDir: String, stems: [String], size: (Int, Int) = (8, 6),
                    maskSize: (Int, Int)? = nil, values: [UInt8] = [0, 1, 2], ext: String = "png") throws {
        try FileManager.default.createDirectory(atPath: "\(root)/\(imageDir)", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/\(maskDir)", withIntermediateDirectories: true)
        for stem in stems {
            let (w, h) = maskSize ?? size
            let labels = (0..<(w * h)).map { values[$0 % values.count] }
            try SegmentationPalette.writeIndexedPNG(LabelMap(width: w, height: h, labels: labels),
                                                    palette: SegmentationPalette.generic(count: 256), to: "\(root)/\(maskDir)/\(stem).png")
            let image = RGBImage(width: size.0, height: size.1, pixels: [UInt8](repeating: 90, count: size.0 * size.1 * 3))
            try PNGEncoder.write(image, to: "\(root)/\(imageDir)/\(stem).\(ext)")
        }
    }

    func testSegfolderLayoutAndErrors() throws {
        let root = temporaryDirectory(self)
        try Self.writePairs(root, imageDir: "images/train", maskDir: "masks/train", stems: ["b", "a"])
        try "background\nthing\n\nstuff\n".write(toFile: "\(root)/classes.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try SegmentationDatasetLocator.detect(root), .segfolder)
        let ds = try SegmentationDatasetLocator.open(root, split: "train")
        XCTAssertEqual(ds.classNames, ["background", "thing", "stuff"])
        XCTAssertEqual(ds.imagePaths.map { ($0 as NSString).lastPathComponent }, ["a.png", "b.png"])
        XCTAssertEqual(ds.ignoreIndex, 255)
        let (image, labels) = try ds.load(0)
        XCTAssertEqual(image.width, 8)
        XCTAssertEqual(Array(labels.labels.prefix(4)), [0, 1, 2, 0])
        // reduce-zero-label: 0 → 255, 1 → 0, 2 → 1.
        let reduced = try SegmentationDatasetLocator.open(root, split: "train", reduceZeroLabel: true)
        XCTAssertEqual(Array(try reduced.load(0).labels.labels.prefix(4)), [255, 0, 1, 255])
        // A label beyond the classes.
        try Self.writePairs(root, imageDir: "images/bad", maskDir: "masks/bad", stems: ["x"], values: [0, 7])
        let bad = try SegmentationDatasetLocator.open(root, split: "bad")
        XCTAssertThrowsError(try bad.load(0)) {
            XCTAssertTrue("\($0)".contains("label 7 in 'x.png' is outside 0..<3 and not the ignore value 255"), "\($0)")
        }
        // A mask of another size.
        try Self.writePairs(root, imageDir: "images/size", maskDir: "masks/size", stems: ["x"], size: (512, 512), maskSize: (640, 480))
        XCTAssertThrowsError(try SegmentationDatasetLocator.open(root, split: "size").load(0)) {
            XCTAssertTrue("\($0)".contains("mask 'x.png' is 640×480 but image 'x.png' is 512×512"), "\($0)")
        }
        // A missing mask, a missing image.
        try Self.writePairs(root, imageDir: "images/miss", maskDir: "masks/miss", stems: ["x", "y"])
        try FileManager.default.removeItem(atPath: "\(root)/masks/miss/y.png")
        XCTAssertThrowsError(try SegmentationDatasetLocator.open(root, split: "miss")) { XCTAssertTrue("\($0)".contains("'y.png'"), "\($0)") }
        try FileManager.default.removeItem(atPath: "\(root)/images/miss/y.png")
        try FileManager.default.removeItem(atPath: "\(root)/images/miss/x.png")
        XCTAssertThrowsError(try SegmentationDatasetLocator.open(root, split: "miss")) { XCTAssertTrue("\($0)".contains("mask 'x.png'"), "\($0)") }
        XCTAssertThrowsError(try SegmentationDatasetLocator.open(root, split: "nosuch")) { XCTAssertTrue("\($0)".contains("nosuch")) }
        try FileManager.default.removeItem(atPath: "\(root)/classes.txt")
        XCTAssertThrowsError(try SegmentationDatasetLocator.open(root, split: "train")) { XCTAssertTrue("\($0)".contains("classes.txt")) }
    }

    func testADE20KLayoutReducesZeroLabel() throws {
        let parent = temporaryDirectory(self)
        let root = "\(parent)/ADEChallengeData2016"
        try Self.writePairs(root, imageDir: "images/validation", maskDir: "annotations/validation",
                       stems: ["ADE_val_00000001"], values: [0, 1, 150, 255], ext: "jpg")
        for path in [parent, root] {
            XCTAssertEqual(try SegmentationDatasetLocator.detect(path), .ade20k)
            let ds = try SegmentationDatasetLocator.open(path, split: "val")
            XCTAssertEqual(ds.classCount, 150)
            XCTAssertEqual(ds.labelMapping, .reduceZeroLabel)
            XCTAssertEqual(Array(try ds.load(0).labels.labels.prefix(4)), [255, 0, 149, 255])
        }
        try Self.writePairs(root, imageDir: "images/training", maskDir: "annotations/training", stems: ["t"], values: [151], ext: "jpg")
        XCTAssertThrowsError(try SegmentationDatasetLocator.open(parent, split: "training").load(0)) {
            XCTAssertTrue("\($0)".contains("label 151 in 't.png'") && "\($0)".contains("outside 0..<150"), "\($0)")
        }
        XCTAssertThrowsError(try SegmentationDatasetLocator.open(parent, split: "test"))
    }

    // MARK: augmentation

    func testResizesMatchOpenCV() throws {
        let cv = try segmentationFixtures()["cv2"] as! [String: Any]
        let shape = ints(cv["image_shape"])
        let image = RGBImage(width: shape[1], height: shape[0], pixels: ints(cv["image"]).map(UInt8.init))
        let mask = LabelMap(width: shape[1], height: shape[0], labels: ints(cv["mask"]).map(UInt8.init))
        for r in cv["resizes"] as! [[String: Any]] {
            let size = ints(r["size"])
            XCTAssertEqual(SegmentationResize.nearest(mask, width: size[0], height: size[1]).labels,
                           ints(r["nearest"]).map(UInt8.init), "nearest \(size)")
            let ours = SegmentationResize.bilinear(image, width: size[0], height: size[1]).pixels.map(Int.init)
            let theirs = ints(r["bilinear"])
            let worst = zip(ours, theirs).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1, "bilinear \(size) differs from cv2 by \(worst)")
        }
    }

    func testHSVMatchesOpenCV() throws {
        let hsv = (try segmentationFixtures()["cv2"] as! [String: Any])["hsv"] as! [String: Any]
        XCTAssertEqual(HSV8.fromRGB(ints(hsv["rgb"]).map(UInt8.init)).map(Int.init), ints(hsv["hsv"]))
        let back = HSV8.toRGB(ints(hsv["hsv_in"]).map(UInt8.init)).map(Int.init)
        XCTAssertLessThanOrEqual(zip(back, ints(hsv["rgb_out"])).map { abs($0 - $1) }.max()!, 1)
    }

    func testRescaleRuleAndPhotometricConvert() {
        // mmcv rescale_size: factor = min(2048/640, 512/480) = 1.0667 → 683 × 512.
        XCTAssertTrue(SegmentationAugmentation.rescaledSize(width: 640, height: 480, long: 2048, short: 512) == (683, 512))
        // Portrait 480×640: min(2048/640, 512/480) → 512 × 683.
        XCTAssertTrue(SegmentationAugmentation.rescaledSize(width: 480, height: 640, long: 2048, short: 512) == (512, 683))
        // A very wide image is bounded by the long side: 4000×500 → factor min(0.512, 1.024) → 2048 × 256.
        XCTAssertTrue(SegmentationAugmentation.rescaledSize(width: 4000, height: 500, long: 2048, short: 512) == (2048, 256))
        var px: [UInt8] = [100, 200, 0, 255]
        PhotometricDistortion.convert(&px, alpha: 1.5, beta: 0)
        XCTAssertEqual(px, [150, 255, 0, 255])
        px = [100, 0]
        PhotometricDistortion.convert(&px, alpha: 1, beta: -0.5)
        XCTAssertEqual(px, [99, 0])  // truncation as numpy's astype(uint8)
    }

    func testCatMaxRatioRule() {
        let aug = SegmentationAugmentation.ade20k(cropSize: 2)
        let box = CropBox(top: 0, left: 0, height: 2, width: 2)
        func map(_ l: [UInt8]) -> LabelMap { LabelMap(width: 2, height: 2, labels: l) }
        XCTAssertFalse(aug.acceptable(map([1, 1, 1, 1]), box))  // one class
        XCTAssertFalse(aug.acceptable(map([1, 1, 1, 2]), box))  // 3/4 is not < 0.75
        XCTAssertTrue(aug.acceptable(map([1, 1, 2, 2]), box))
        XCTAssertFalse(aug.acceptable(map([1, 255, 255, 255]), box))  // ignore does not count as a class
        XCTAssertTrue(aug.acceptable(map([1, 2, 255, 255]), box))
    }

    func testAugmentationKeepsImageAndMaskAligned() {
        // Image grey = 10·label, so a crop/flip that moved them apart would be seen; ratio fixed at 1 and a scale that
        // leaves the size unchanged, so only crop and flip act (nearest and bilinear agree on unchanged size).
        let (w, h) = (40, 30)
        let labels = (0..<(w * h)).map { UInt8(($0 % w) / 8 + 4 * (($0 / w) / 10)) }
        let image = RGBImage(width: w, height: h, pixels: labels.flatMap { [10 * $0, 10 * $0, 10 * $0] })
        var aug = SegmentationAugmentation(cropSize: 16, scaleLong: 40, scaleShort: 30, ratioRange: 1...1, photometric: false)
        var flips = 0
        for index in 0..<20 {
            let (img, lab) = aug.apply(image, labels: LabelMap(width: w, height: h, labels: labels), seed: 3, epoch: 0, index: index)
            XCTAssertEqual(img.width, 16)
            XCTAssertEqual(lab.height, 16)
            XCTAssertEqual(stride(from: 0, to: img.pixels.count, by: 3).map { img.pixels[$0] }, lab.labels.map { 10 * $0 })
            if lab.labels[0] > lab.labels[15] { flips += 1 }
            let (img2, _) = aug.apply(image, labels: LabelMap(width: w, height: h, labels: labels), seed: 3, epoch: 0, index: index)
            XCTAssertEqual(img, img2)
        }
        XCTAssertGreaterThan(flips, 2)
        XCTAssertLessThan(flips, 18)
        // With resizing (ratio 2 doubles the size), the photometric part on: output sizes and determinism.
        aug = .ade20k(cropSize: 16)
        let (a, la) = aug.apply(image, labels: LabelMap(width: w, height: h, labels: labels), seed: 1, epoch: 2, index: 3)
        let (b, lb) = aug.apply(image, labels: LabelMap(width: w, height: h, labels: labels), seed: 1, epoch: 2, index: 3)
        XCTAssertEqual(a, b)
        XCTAssertEqual(la, lb)
        XCTAssertTrue(a.width <= 16 && a.height <= 16 && la.width == a.width && la.height == a.height)
    }

    // MARK: samples and batches

    func testSyntheticDatasetThroughTheBatchLoader() throws {
        let root = temporaryDirectory(self)
        try SyntheticSegmentation.write(to: root, splits: [("train", 6), ("val", 2)], size: 32, seed: 5)
        let ds = try SegmentationDatasetLocator.open(root, split: "train")
        XCTAssertEqual(ds.classNames, ["background", "disc", "square", "triangle"])
        XCTAssertEqual(ds.count, 6)
        var seen = Set<UInt8>()
        for i in 0..<ds.count { seen.formUnion(try ds.load(i).labels.labels) }
        XCTAssertTrue(seen.isSubset(of: [0, 1, 2, 3]) && seen.count >= 3, "\(seen)")
        // Crop 48 > the resized image (scale short side 24 × r ≤ 2 → at most 48; often smaller): padding visible.
        let aug = SegmentationAugmentation(cropSize: 48, scaleLong: 96, scaleShort: 24)
        let samples = SegmentationSamples(dataset: ds, augmentation: aug)
        XCTAssertEqual(samples.sampleShape, [4, 48, 48])
        let serial = try BatchLoader(samples: samples, batchSize: 4, shuffle: true, seed: 9, workers: 0)
        let threaded = try BatchLoader(samples: samples, batchSize: 4, shuffle: true, seed: 9, workers: 2)
        let e0 = serial.epoch(1), e1 = threaded.epoch(1)
        var padded = 0
        while let a = try e0.next() {
            let b = try XCTUnwrap(try e1.next())
            XCTAssertEqual(a.images.values, b.images.values)
            let (images, labels) = SegmentationBatch.split(a)
            XCTAssertEqual(images.shape, [a.count, 3, 48, 48])
            XCTAssertEqual(labels.count, a.count * 48 * 48)
            XCTAssertTrue(labels.allSatisfy { (0...3).contains($0) || $0 == 255 })
            for n in 0..<a.count where labels[n * 2304 + 2303] == 255 {  // bottom-right padded: image 0 there
                padded += 1
                for c in 0..<3 { XCTAssertEqual(images.data[(n * 3 + c) * 2304 + 2303], 0) }
            }
        }
        XCTAssertNil(try e1.next())
        XCTAssertGreaterThan(padded, 0)
        // Evaluation input: keep-ratio resize, normalised.
        let (image, _) = try ds.load(0)
        let input = SegmentationBatch.evaluationInput(image, long: 128, short: 48)
        XCTAssertEqual(input.shape, [1, 3, 48, 48])
        XCTAssertEqual(input.data[0], (Float(SegmentationAugmentation.evaluationImage(image, long: 128, short: 48).pixels[0]) / 255 - 0.485) / 0.229,
                       accuracy: 1e-6)
    }
}
