// SegmentationAugmentation: mmseg's ADE20K training pipeline on an (image, label map) pair — RandomResize (keep
// ratio), RandomCrop with cat_max_ratio, RandomFlip, PhotoMetricDistortion — with one generator per (seed, epoch,
// index) driving image and mask alike; and the evaluation Resize. Padding happens after normalisation
// (SegmentationSamples), as mmseg's SegDataPreProcessor pads normalised tensors.
import Foundation

/// The random and fixed transformations of segmentation training and evaluation.
public struct SegmentationAugmentation: Sendable, Equatable {
    /// Side S of the square training crop (mmseg's ADE20K: 512).
    public var cropSize: Int
    /// mmseg's `scale=(2048, 512)`: the long and short side limits of the keep-ratio resize.
    public var scaleLong: Int
    public var scaleShort: Int
    /// `ratio_range` of RandomResize: the scale is multiplied by r ~ U[low, high).
    public var ratioRange: ClosedRange<Double>
    /// RandomCrop's `cat_max_ratio` (1 disables the check).
    public var catMaxRatio: Double
    /// Label excluded from the cat_max_ratio counts.
    public var ignoreIndex: UInt8
    /// Probability of a horizontal flip.
    public var flipProbability: Double
    /// Whether PhotoMetricDistortion runs (brightness 32, contrast and saturation 0.5–1.5, hue 18).
    public var photometric: Bool

    /// mmseg's ADE20K training pipeline for crop S: scale (2048, 512)·S/512 (so S = 512 is exactly mmseg's),
    /// ratio 0.5–2, cat_max_ratio 0.75, flip 0.5, photometric distortion.
    public static func ade20k(cropSize: Int = 512) -> SegmentationAugmentation {
        SegmentationAugmentation(cropSize: cropSize, scaleLong: 4 * cropSize, scaleShort: cropSize)
    }

    public init(cropSize: Int, scaleLong: Int, scaleShort: Int, ratioRange: ClosedRange<Double> = 0.5...2.0,
                catMaxRatio: Double = 0.75, ignoreIndex: UInt8 = 255, flipProbability: Double = 0.5, photometric: Bool = true) {
        self.cropSize = cropSize
        self.scaleLong = scaleLong
        self.scaleShort = scaleShort
        self.ratioRange = ratioRange
        self.catMaxRatio = catMaxRatio
        self.ignoreIndex = ignoreIndex
        self.flipProbability = flipProbability
        self.photometric = photometric
    }

    /// mmcv's `rescale_size` for keep_ratio: factor = min(long / max(w, h), short / min(w, h)); new size
    /// ⌊w·factor + 0.5⌋ × ⌊h·factor + 0.5⌋ (at least 1).
    public static func rescaledSize(width: Int, height: Int, long: Int, short: Int) -> (width: Int, height: Int) {
        let maxLong = Double(max(long, short)), maxShort = Double(min(long, short))
        let factor = min(maxLong / Double(max(width, height)), maxShort / Double(min(width, height)))
        return (max(1, Int(Double(width) * factor + 0.5)), max(1, Int(Double(height) * factor + 0.5)))
    }

    /// The evaluation image: mmseg's test `Resize(scale=(long, short), keep_ratio=True)`, bilinear; labels stay at
    /// the original size (predictions are resized back before the metric).
    public static func evaluationImage(_ image: RGBImage, long: Int = 2048, short: Int = 512) -> RGBImage {
        let size = rescaledSize(width: image.width, height: image.height, long: long, short: short)
        return SegmentationResize.bilinear(image, width: size.width, height: size.height)
    }

    /// The training transformation of sample `index` in `epoch` (generator `RandomSampling.generator(seed, epoch,
    /// index)`); the result is at most cropSize × cropSize (padding comes later).
    public func apply(_ image: RGBImage, labels: LabelMap, seed: UInt64, epoch: Int, index: Int) -> (RGBImage, LabelMap) {
        var rng = RandomSampling.generator(seed, epoch, index)
        return apply(image, labels: labels, using: &rng)
    }

    /// The training transformation drawing from `rng`, in this order: the resize ratio (1 uniform); the crop
    /// offsets (row then column, `integer(below: margin + 1)`, per attempt); the flip (1 uniform); the photometric
    /// draws in mmseg's order (see ``PhotometricDistortion``).
    public func apply(_ image: RGBImage, labels: LabelMap, using rng: inout SeededGenerator) -> (RGBImage, LabelMap) {
        precondition(image.width == labels.width && image.height == labels.height, "image and label map sizes differ")
        // RandomResize: scale (long·r, short·r) truncated to integers, then keep-ratio rescale.
        let r = RandomSampling.uniform(ratioRange.lowerBound, ratioRange.upperBound, &rng)
        let size = Self.rescaledSize(width: image.width, height: image.height,
                                     long: Int(Double(scaleLong) * r), short: Int(Double(scaleShort) * r))
        var img = SegmentationResize.bilinear(image, width: size.width, height: size.height)
        var lab = SegmentationResize.nearest(labels, width: size.width, height: size.height)
        // RandomCrop with cat_max_ratio: up to 10 checks, each failure draws a new box; the 11th box is kept.
        var box = cropBox(width: img.width, height: img.height, &rng)
        if catMaxRatio < 1 {
            for _ in 0..<10 {
                if acceptable(lab, box) { break }
                box = cropBox(width: img.width, height: img.height, &rng)
            }
        }
        img = ImageAugmentation.crop(img, box)
        lab = SegmentationResize.crop(lab, box)
        // RandomFlip.
        if RandomSampling.uniform(&rng) < flipProbability {
            img = ImageAugmentation.flippedHorizontally(img)
            lab = SegmentationResize.flipped(lab)
        }
        if photometric { img = PhotometricDistortion.apply(img, using: &rng) }
        return (img, lab)
    }

    /// mmseg's `crop_bbox`: offsets uniform in 0…max(size − crop, 0), the box clipped to the image.
    func cropBox(width: Int, height: Int, _ rng: inout SeededGenerator) -> CropBox {
        let top = RandomSampling.integer(below: max(height - cropSize, 0) + 1, &rng)
        let left = RandomSampling.integer(below: max(width - cropSize, 0) + 1, &rng)
        return CropBox(top: top, left: left, height: min(cropSize, height - top), width: min(cropSize, width - left))
    }

    /// mmseg's check: among the crop's non-ignore labels, more than one class and the largest below cat_max_ratio.
    func acceptable(_ labels: LabelMap, _ box: CropBox) -> Bool {
        var counts = [Int](repeating: 0, count: 256)
        for y in box.top..<(box.top + box.height) {
            for x in box.left..<(box.left + box.width) { counts[Int(labels.labels[y * labels.width + x])] += 1 }
        }
        counts[Int(ignoreIndex)] = 0
        let present = counts.filter { $0 > 0 }
        guard present.count > 1 else { return false }
        return Double(present.max()!) / Double(present.reduce(0, +)) < catMaxRatio
    }
}

/// Resizing, cropping and flipping of images and label maps with OpenCV's sampling rules (mmcv's cv2 backend).
public enum SegmentationResize {
    /// Bilinear resize with half-pixel centres (cv2.INTER_LINEAR / torch align_corners false, no antialiasing),
    /// computed in Float and rounded to nearest; may differ from OpenCV's 11-bit fixed point by one level.
    public static func bilinear(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        if width == image.width && height == image.height { return image }
        let ty = BilinearTaps(input: image.height, output: height, alignCorners: false)
        let tx = BilinearTaps(input: image.width, output: width, alignCorners: false)
        var out = [UInt8](repeating: 0, count: width * height * 3)  // (H, W, 3)
        let w = image.width
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let r0 = ty.i0[y] * w, r1 = ty.i1[y] * w, ly = ty.lambda[y], hy = 1 - ly
                    for x in 0..<width {
                        let x0 = tx.i0[x], x1 = tx.i1[x], lx = tx.lambda[x], hx = 1 - lx
                        for c in 0..<3 {
                            let v = hy * (hx * Float(src[3 * (r0 + x0) + c]) + lx * Float(src[3 * (r0 + x1) + c]))
                                + ly * (hx * Float(src[3 * (r1 + x0) + c]) + lx * Float(src[3 * (r1 + x1) + c]))
                            dst[3 * (y * width + x) + c] = UInt8(min(max(v.rounded(), 0), 255))
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Nearest-neighbour resize as cv2.INTER_NEAREST: source index ⌊dst · in / out⌋ (clamped).
    public static func nearest(_ labels: LabelMap, width: Int, height: Int) -> LabelMap {
        if width == labels.width && height == labels.height { return labels }
        let sy = (0..<height).map { min(Int(Double($0) * Double(labels.height) / Double(height)), labels.height - 1) }
        let sx = (0..<width).map { min(Int(Double($0) * Double(labels.width) / Double(width)), labels.width - 1) }
        var out = [UInt8](repeating: 0, count: width * height)  // (H, W)
        for y in 0..<height {
            let row = sy[y] * labels.width
            for x in 0..<width { out[y * width + x] = labels.labels[row + sx[x]] }
        }
        return LabelMap(width: width, height: height, labels: out)
    }

    /// The rows and columns of `box` (inside the map).
    public static func crop(_ labels: LabelMap, _ box: CropBox) -> LabelMap {
        var out = [UInt8](repeating: 0, count: box.width * box.height)  // (h, w)
        for y in 0..<box.height {
            for x in 0..<box.width { out[y * box.width + x] = labels.labels[(box.top + y) * labels.width + box.left + x] }
        }
        return LabelMap(width: box.width, height: box.height, labels: out)
    }

    /// The map mirrored left–right.
    public static func flipped(_ labels: LabelMap) -> LabelMap {
        var out = labels
        for y in 0..<labels.height {
            for x in 0..<labels.width { out.labels[y * labels.width + x] = labels.labels[y * labels.width + labels.width - 1 - x] }
        }
        return out
    }
}
