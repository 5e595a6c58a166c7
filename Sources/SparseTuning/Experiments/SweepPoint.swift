// SweepPoint: one (keep rate, sparsifying blocks) setting of a token-sparsification sweep and what it measured —
// accuracy, fvcore GFLOPs and inference images/s — as stored in point.json and sweep.csv.
import Foundation

/// The measurements of one setting of a keep-rate / ts-layers sweep.
public struct SweepPoint: Codable, Sendable, Equatable {
    /// Token keep rate κ.
    public var keepRate: Double
    /// The blocks (0-based) that reduce tokens, as resolved for the backbone's depth.
    public var tsLayers: [Int]
    /// Top-1 and top-5 accuracy on the evaluation split, fractions in [0, 1].
    public var top1: Double
    public var top5: Double
    /// Images evaluated.
    public var samples: Int
    /// fvcore GFLOPs (multiply-accumulates × 1e-9) per image.
    public var gflops: Double
    /// Measured inference images/s (0 when not measured).
    public var imagesPerSecond: Double
    /// Trainable values (head included).
    public var trainableParameters: Int
    /// Seconds of training (0 when only evaluated).
    public var trainSeconds: Double
    /// Whether this point was trained (false: a given task file was evaluated).
    public var trained: Bool

    /// A point with the given measurements.
    public init(keepRate: Double, tsLayers: [Int], top1: Double, top5: Double, samples: Int, gflops: Double,
                imagesPerSecond: Double, trainableParameters: Int, trainSeconds: Double, trained: Bool) {
        self.keepRate = keepRate
        self.tsLayers = tsLayers
        self.top1 = top1
        self.top5 = top5
        self.samples = samples
        self.gflops = gflops
        self.imagesPerSecond = imagesPerSecond
        self.trainableParameters = trainableParameters
        self.trainSeconds = trainSeconds
        self.trained = trained
    }

    enum CodingKeys: String, CodingKey {
        case keepRate = "keep_rate", tsLayers = "ts_layers", top1, top5, samples, gflops
        case imagesPerSecond = "images_per_s", trainableParameters = "trainable_parameters"
        case trainSeconds = "train_seconds", trained
    }

    /// The sparsifying blocks as written in file names, CSV cells and legends: `3-6-9` (`none` when empty).
    public var tsLayersText: String { Self.text(tsLayers) }

    /// `layers` as `3-6-9`, or `none`.
    public static func text(_ layers: [Int]) -> String {
        layers.isEmpty ? "none" : layers.map(String.init).joined(separator: "-")
    }
}
