// SyntheticSegmentation: writes a small segfolder dataset for tests and demos — a disc, square or triangle of random
// colour and size on a cluttered background (noise, stripes, distractor blobs); mask = the shape's class.
import Foundation

/// Generator of a synthetic segfolder dataset with 4 classes: background, disc, square, triangle.
public enum SyntheticSegmentation {
    public static let classNames = ["background", "disc", "square", "triangle"]

    /// One image and its label map: 1–2 shapes (class 1…3) over clutter; deterministic in `seed`.
    public static func sample(size: Int, seed: UInt64) -> (RGBImage, LabelMap) {
        var rng = SeededGenerator(seed: seed)
        func u() -> Double { RandomSampling.uniform(&rng) }
        func byte() -> Int { RandomSampling.integer(below: 256, &rng) }
        var px = [UInt8](repeating: 0, count: size * size * 3)  // (H, W, 3)
        var labels = [UInt8](repeating: 0, count: size * size)  // (H, W)
        // Background: a random base colour, stripes of random period and direction, per-pixel noise.
        let base = (0..<3).map { _ in 40 + RandomSampling.integer(below: 160, &rng) }
        let period = 3 + RandomSampling.integer(below: 6, &rng), vertical = u() < 0.5
        for y in 0..<size {
            for x in 0..<size {
                let stripe = ((vertical ? x : y) / period) % 2 == 0 ? 25 : -25
                for c in 0..<3 {
                    let noise = RandomSampling.integer(below: 41, &rng) - 20
                    px[3 * (y * size + x) + c] = UInt8(clamping: base[c] + stripe + noise)
                }
            }
        }
        // Distractor blobs: small squares of random colour, background class.
        for _ in 0..<(2 + RandomSampling.integer(below: 3, &rng)) {
            let r = max(1, size / 16), cx = RandomSampling.integer(below: size, &rng), cy = RandomSampling.integer(below: size, &rng)
            let colour = [byte(), byte(), byte()]
            for y in max(0, cy - r)..<min(size, cy + r) {
                for x in max(0, cx - r)..<min(size, cx + r) {
                    for c in 0..<3 { px[3 * (y * size + x) + c] = UInt8(colour[c]) }
                }
            }
        }
        // Shapes.
        for _ in 0..<(1 + RandomSampling.integer(below: 2, &rng)) {
            let cls = 1 + RandomSampling.integer(below: 3, &rng)
            let half = Double(size) * (0.12 + 0.18 * u())
            let cx = half + u() * (Double(size) - 2 * half), cy = half + u() * (Double(size) - 2 * half)
            let colour = [byte(), byte(), byte()]
            for y in 0..<size {
                for x in 0..<size {
                    let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
                    let inside: Bool
                    switch cls {
                    case 1: inside = dx * dx + dy * dy <= half * half
                    case 2: inside = abs(dx) <= half && abs(dy) <= half
                    default: inside = dy <= half && dy >= -half && abs(dx) <= (dy + half) / 2  // apex up
                    }
                    guard inside else { continue }
                    labels[y * size + x] = UInt8(cls)
                    for c in 0..<3 { px[3 * (y * size + x) + c] = UInt8(colour[c]) }
                }
            }
        }
        return (RGBImage(width: size, height: size, pixels: px), LabelMap(width: size, height: size, labels: labels))
    }

    /// Writes `root/images/<split>/NNNN.png`, `root/masks/<split>/NNNN.png` (8-bit palette masks) and
    /// `root/classes.txt` for each split and count in `splits`.
    ///
    /// - Throws: ``SparseTuningError`` when a file cannot be written.
    public static func write(to root: String, splits: [(name: String, count: Int)], size: Int = 64, seed: UInt64 = 0) throws {
        guard size >= 8 else { throw SparseTuningError("synthetic segmentation images need a size of at least 8 (got \(size))") }
        let fm = FileManager.default
        let palette = SegmentationPalette.generic(count: classNames.count)
        do {
            try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
            for (s, split) in splits.enumerated() {
                try fm.createDirectory(atPath: "\(root)/images/\(split.name)", withIntermediateDirectories: true)
                try fm.createDirectory(atPath: "\(root)/masks/\(split.name)", withIntermediateDirectories: true)
                for i in 0..<split.count {
                    let (image, labels) = sample(size: size, seed: RandomSampling.derivedSeed(seed, s, i))
                    let name = String(format: "%04d.png", i)
                    try PNGEncoder.write(image, to: "\(root)/images/\(split.name)/\(name)")
                    try SegmentationPalette.writeIndexedPNG(labels, palette: palette, to: "\(root)/masks/\(split.name)/\(name)")
                }
            }
        } catch let error as SparseTuningError {
            throw error
        } catch {
            throw SparseTuningError("cannot write synthetic segmentation dataset '\(root)': \(error.localizedDescription)")
        }
        try AtomicFileWriter.write(classNames.joined(separator: "\n") + "\n", to: "\(root)/classes.txt")
    }
}
