// What a segmentation task adds to the backbone and method (docs/SEGMENTATION.md): classes, the ignore label, the
// head, the feature levels it reads and the rule that restores pruned positions — recorded in its task file.

/// The decoder on the restored features.
public enum SegmentationHeadKind: String, Sendable, Codable, CaseIterable {
    /// LayerNorm + per-token classifier on the last level, bilinear upsampling (Segmenter's linear decoder).
    case linear
    /// BEiT's multi-level pyramid into an UPerNet decoder (pyramid pooling + FPN).
    case upernet
}

/// A segmentation task's settings.
public struct SegmentationConfig: Sendable, Codable, Equatable {
    /// Classes K (labels 0..<K).
    public var classes: Int
    /// The label of pixels that count for nothing (ADE20K's "other" after reducing zero: 255).
    public var ignoreIndex: Int = 255
    public var head: SegmentationHeadKind = .linear
    /// Blocks whose outputs are the features (nil: the last block for `linear`; D/4−1, D/2−1, 3D/4−1, D−1 for `upernet`).
    public var levels: [Int]?
    /// How pruned positions are filled.
    public var restore: RestoreRule = .copy
    /// UPerNet channels.
    public var channels = 512
    /// The training crop side, and mmseg's Resize scale (long, short) that evaluation resizes images to.
    public var cropSize = 512
    public var scale = [2048, 512]

    public init(classes: Int, head: SegmentationHeadKind = .linear, restore: RestoreRule = .copy) {
        self.classes = classes
        self.head = head
        self.restore = restore
    }

    /// The feature levels for a backbone of `depth` blocks.
    public func levelBlocks(depth: Int) -> [Int] {
        levels ?? (head == .linear ? [depth - 1] : [depth / 4 - 1, depth / 2 - 1, 3 * depth / 4 - 1, depth - 1])
    }

    /// Throws a message naming the option when impossible for `depth` blocks.
    public func validate(depth: Int) throws {
        func need(_ ok: Bool, _ m: String) throws { if !ok { throw SparseTuningError(m) } }
        try need(classes >= 1 && classes <= 65535, "segmentation needs 1…65535 classes (got \(classes))")
        try need(ignoreIndex < 0 || ignoreIndex >= classes, "the ignore label \(ignoreIndex) is one of the \(classes) classes")
        let l = levelBlocks(depth: depth)
        try need(!l.isEmpty && l.allSatisfy { (0..<depth).contains($0) } && l == l.sorted() && Set(l).count == l.count,
                 "--levels \(l.map(String.init).joined(separator: ",")) must be increasing blocks 0…\(depth - 1)")
        try need(head == .linear || l.count == 4, "the UPerNet head reads 4 levels (got \(l.count))")
        try need(channels > 0 && channels <= 8192, "--channels must be 1…8192 (got \(channels))")
    }
}
