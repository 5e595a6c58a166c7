// Procedurally generated images: one object (its shape is the class) on a cluttered background, so that most
// patches carry little information — built-in data for demos and tests that needs no download.

/// Generator of labelled synthetic RGB images: class k is the k-th shape of ``SyntheticImages/shapes``, drawn in a
/// random colour, size and position over smooth noise, stripes and small distractor blobs.
public struct SyntheticImages: Sendable {
    /// Shape names, one per class.
    public static let shapes = ["disc", "square", "triangle", "ring", "cross", "diamond", "bar", "checker"]

    public let size: Int
    public let classes: Int

    /// - Parameters: size: image side in pixels; classes: how many shapes (2…8) are used as classes.
    public init(size: Int, classes: Int) throws {
        guard size >= 8 else { throw SparseTuningError("synthetic image size must be at least 8 (got \(size))") }
        guard (2...Self.shapes.count).contains(classes) else {
            throw SparseTuningError("synthetic data has 2 to \(Self.shapes.count) classes (got \(classes))")
        }
        self.size = size
        self.classes = classes
    }

    /// Image `index` of the stream seeded by `seed`, with its label (`index % classes`). Deterministic.
    public func sample(_ index: Int, seed: UInt64) -> (image: RGBImage, label: Int) {
        var rng = SeededGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(index))
        let label = index % classes
        let s = size
        var px = [UInt8](repeating: 0, count: s * s * 3)
        // Background: two-tone gradient, faint stripes, per-pixel noise.
        let base = (0..<3).map { _ in rng.uniform() * 0.5 + 0.25 }
        let tilt = (0..<3).map { _ in rng.uniform() * 0.3 - 0.15 }
        let period = Float(4 + Int(rng.uniform() * 12))
        for y in 0..<s {
            for x in 0..<s {
                let stripe: Float = Int(Float(x + y) / period) % 2 == 0 ? 0.04 : -0.04
                for c in 0..<3 {
                    let v = base[c] + tilt[c] * Float(y - x) / Float(s) + stripe + (rng.uniform() - 0.5) * 0.12
                    px[(y * s + x) * 3 + c] = UInt8(max(0, min(255, v * 255)))
                }
            }
        }
        // Distractors: small blobs that are not any class shape.
        for _ in 0..<(3 + Int(rng.uniform() * 4)) {
            let cx = rng.uniform() * Float(s), cy = rng.uniform() * Float(s), r = Float(s) * (0.02 + rng.uniform() * 0.03)
            let col = (0..<3).map { _ in UInt8(rng.uniform() * 255) }
            fill(&px, s) { x, y in (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r ? col : nil }
        }
        // The object.
        let r = Float(s) * (0.15 + rng.uniform() * 0.12)
        let cx = r + rng.uniform() * (Float(s) - 2 * r), cy = r + rng.uniform() * (Float(s) - 2 * r)
        var col = (0..<3).map { _ in UInt8(rng.uniform() * 255) }
        col[Int(rng.uniform() * 3) % 3] = 240  // keep it visible against the background
        let shape = Self.shapes[label]
        fill(&px, s) { x, y in
            let dx = x - cx, dy = y - cy
            let inside: Bool
            switch shape {
            case "disc": inside = dx * dx + dy * dy < r * r
            case "square": inside = abs(dx) < r * 0.8 && abs(dy) < r * 0.8
            case "triangle": inside = dy < r * 0.7 && dy > -r && abs(dx) < (dy + r) * 0.6
            case "ring": let d = dx * dx + dy * dy; inside = d < r * r && d > r * r * 0.4
            case "cross": inside = (abs(dx) < r * 0.25 && abs(dy) < r) || (abs(dy) < r * 0.25 && abs(dx) < r)
            case "diamond": inside = abs(dx) + abs(dy) < r
            case "bar": inside = abs(dx) < r && abs(dy) < r * 0.3
            default: inside = abs(dx) < r && abs(dy) < r && (Int((dx + r) / (r / 2)) + Int((dy + r) / (r / 2))) % 2 == 0
            }
            return inside ? col : nil
        }
        return (RGBImage(width: s, height: s, pixels: px), label)
    }

    private func fill(_ px: inout [UInt8], _ s: Int, _ color: (Float, Float) -> [UInt8]?) {
        for y in 0..<s {
            for x in 0..<s {
                if let c = color(Float(x) + 0.5, Float(y) + 0.5) {
                    for k in 0..<3 { px[(y * s + x) * 3 + k] = c[k] }
                }
            }
        }
    }
}
