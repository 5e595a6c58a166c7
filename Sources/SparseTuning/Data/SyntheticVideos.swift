// Procedurally generated video clips: a square moving across a cluttered, static background, labelled by the
// direction it moves (left, right, up, down). A clip's frames flipped horizontally show the opposite direction, so —
// as for Something-Something — flipping training clips would corrupt their labels. Built-in data for video tests and
// demos; written as frame folders with a list file (the VideoMAE layout).
import Foundation

/// Generator of labelled synthetic clips of `frames` frames of `size`×`size` pixels.
public struct SyntheticVideos: Sendable {
    /// Class names: the direction of motion.
    public static let directions = ["left", "right", "up", "down"]

    public let size: Int
    public let frames: Int

    public init(size: Int, frames: Int) throws {
        guard size >= 16, frames >= 2 else {
            throw SparseTuningError("synthetic clips need size ≥ 16 and at least 2 frames (got \(size), \(frames))")
        }
        self.size = size
        self.frames = frames
    }

    /// Clip `index` of the stream seeded by `seed`, with its label (`index % 4`). Deterministic.
    public func sample(_ index: Int, seed: UInt64) -> (frames: [RGBImage], label: Int) {
        var rng = SeededGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(index) &+ 0x51DE0)
        let label = index % 4
        let s = size
        // Static background: smooth colour, per-pixel noise, two still distractor squares.
        var background = [UInt8](repeating: 0, count: s * s * 3)
        let base = (0..<3).map { _ in rng.uniform() * 0.5 + 0.25 }
        for i in 0..<(s * s) {
            for c in 0..<3 { background[i * 3 + c] = UInt8(max(0, min(255, (base[c] + (rng.uniform() - 0.5) * 0.2) * 255))) }
        }
        let side = max(3, s / 6)
        func square(_ px: inout [UInt8], x: Int, y: Int, colour: [UInt8]) {
            for yy in max(0, y)..<min(s, y + side) {
                for xx in max(0, x)..<min(s, x + side) { for c in 0..<3 { px[(yy * s + xx) * 3 + c] = colour[c] } }
            }
        }
        for _ in 0..<2 {
            let colour = (0..<3).map { _ in UInt8(rng.uniform() * 255) }
            square(&background, x: Int(rng.uniform() * Float(s - side)), y: Int(rng.uniform() * Float(s - side)), colour: colour)
        }
        // The moving square: a step per frame so that it crosses most of the frame, from a random start.
        let colour: [UInt8] = [UInt8(200 + rng.uniform() * 55), UInt8(rng.uniform() * 60), UInt8(rng.uniform() * 60)]
        let step = max(1, (s - side) * 3 / (4 * (frames - 1)))
        let travel = step * (frames - 1)
        let along = Int(rng.uniform() * Float(max(1, s - side - travel)))  // start along the motion
        let across = Int(rng.uniform() * Float(s - side))
        var clip: [RGBImage] = []
        for f in 0..<frames {
            var px = background
            let d = along + f * step
            switch label {
            case 0: square(&px, x: s - side - d, y: across, colour: colour)  // left
            case 1: square(&px, x: d, y: across, colour: colour)  // right
            case 2: square(&px, x: across, y: s - side - d, colour: colour)  // up
            default: square(&px, x: across, y: d, colour: colour)  // down
            }
            clip.append(RGBImage(width: s, height: s, pixels: px))
        }
        return (clip, label)
    }

    /// Writes `<root>/<split>/NNNNNN/img_00001.png …` frame folders for `train` and `val` clips, the list files
    /// `train.csv` and `val.csv` (`path num_frames label`) and `classes.txt`. Returns `root`.
    @discardableResult
    public func writeDataset(root: String, trainCount: Int, valCount: Int, seed: UInt64) throws -> String {
        let fm = FileManager.default
        for (split, count, offset) in [("train", trainCount, 0), ("val", valCount, trainCount)] {
            var lines: [String] = []
            for i in 0..<count {
                let (clip, label) = sample(offset + i, seed: seed)
                let folder = String(format: "%@/%06d", split, i)
                try fm.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
                for (f, frame) in clip.enumerated() {
                    try PNGEncoder.write(frame, to: String(format: "%@/%@/img_%05d.png", root, folder, f + 1))
                }
                lines.append("\(folder) \(clip.count) \(label)")
            }
            try AtomicFileWriter.write(lines.joined(separator: "\n") + "\n", to: "\(root)/\(split).csv")
        }
        try AtomicFileWriter.write(Self.directions.joined(separator: "\n") + "\n", to: "\(root)/classes.txt")
        return root
    }
}
