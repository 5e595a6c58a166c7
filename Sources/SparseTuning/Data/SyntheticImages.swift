// Procedurally generated images: one object (its shape is the class) on a cluttered background, so that most
// patches carry little information — built-in data for demos and tests that needs no download.

/// Generator of labelled synthetic RGB images: one object drawn in a random colour and size over smooth noise,
/// stripes and small distractor blobs. With ``Labeling/shape`` class k is the k-th shape of
/// ``SyntheticImages/shapes``; with ``Labeling/quadrant`` the class is the quadrant holding the object (any shape).
public struct SyntheticImages: Sendable {
    /// Shape names, one per class.
    public static let shapes = ["disc", "square", "triangle", "ring", "cross", "diamond", "bar", "checker"]
    /// Quadrant names, one per class of ``Labeling/quadrant``.
    public static let quadrants = ["top-left", "top-right", "bottom-left", "bottom-right"]

    /// What the label of an image means.
    public enum Labeling: String, Sendable { case shape, quadrant }

    public let size: Int
    public let classes: Int
    public let labeling: Labeling
    /// With ``Labeling/shape``: class k is shape `firstShape + k` (so two tasks can use disjoint shapes).
    public let firstShape: Int

    /// - Parameters: size: image side in pixels; classes: how many shapes are classes (4 for quadrants);
    ///   firstShape: index in ``shapes`` of class 0.
    public init(size: Int, classes: Int, labeling: Labeling = .shape, firstShape: Int = 0) throws {
        guard size >= 8 else { throw SparseTuningError("synthetic image size must be at least 8 (got \(size))") }
        let maxClasses = labeling == .shape ? Self.shapes.count - firstShape : Self.quadrants.count
        guard firstShape >= 0, (2...max(2, maxClasses)).contains(classes) else {
            throw SparseTuningError("synthetic \(labeling.rawValue) data has 2 to \(maxClasses) classes from shape \(firstShape) (got \(classes))")
        }
        self.size = size
        self.classes = classes
        self.labeling = labeling
        self.firstShape = firstShape
    }

    /// Class names, one per class.
    public var classNames: [String] {
        labeling == .shape ? Array(Self.shapes[firstShape..<(firstShape + classes)]) : Array(Self.quadrants[..<classes])
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
        for _ in 0..<(2 + Int(rng.uniform() * 3)) {
            let cx = rng.uniform() * Float(s), cy = rng.uniform() * Float(s), r = Float(s) * (0.01 + rng.uniform() * 0.02)
            let col = (0..<3).map { _ in UInt8(rng.uniform() * 255) }
            fill(&px, s) { x, y in (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r ? col : nil }
        }
        // The object: its shape is the label, or it lies in the labelled quadrant.
        var cx: Float, cy: Float, r: Float, shape: String
        switch labeling {
        case .shape:
            r = Float(s) * (0.2 + rng.uniform() * 0.12)
            cx = r + rng.uniform() * (Float(s) - 2 * r)
            cy = r + rng.uniform() * (Float(s) - 2 * r)
            shape = Self.shapes[firstShape + label]
        case .quadrant:
            r = Float(s) * (0.12 + rng.uniform() * 0.08)
            let half = Float(s) / 2
            cx = Float(label % 2) * half + r + rng.uniform() * (half - 2 * r)
            cy = Float(label / 2) * half + r + rng.uniform() * (half - 2 * r)
            shape = Self.shapes[Int(rng.uniform() * Float(Self.shapes.count)) % Self.shapes.count]
        }
        var col = (0..<3).map { _ in UInt8(rng.uniform() * 255) }
        col[Int(rng.uniform() * 3) % 3] = 240  // keep it visible against the background
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
