// The segmentation model: the one ViT forward pass (with Sparse-Tuning's adapters and token sparsification) taken at
// chosen blocks, each level restored to the full patch grid (DenseRestoration), a decoder head, logits upsampled to
// the image (docs/SEGMENTATION.md). Training runs the backward pass from the pixels through the head, the restoration
// maps and the blocks.

/// A ViT adapted for semantic segmentation.
public final class SegmentationModel: Sendable {
    /// The backbone and method (no classification head: `config.classes` is 0).
    public let trunk: TunedViT
    public let settings: SegmentationConfig
    /// The blocks whose outputs feed the head.
    public let levels: [Int]
    let linearHead: LinearSegmentationHead?
    let uperHead: UPerNetHead?

    /// Adds `settings`' head to `trunk` (whose backbone must have no classification head).
    public init(trunk: TunedViT, settings: SegmentationConfig, seed: UInt64 = 0) throws {
        try settings.validate(depth: trunk.config.depth)
        guard trunk.config.classes == 0 else { throw SparseTuningError("a segmentation trunk has no classification head (--classes 0)") }
        guard !trunk.config.isVideo else { throw SparseTuningError("segmentation takes images, not video models") }
        guard trunk.tuning.reduction == .evit || !trunk.tuning.reducesTokens else {
            throw SparseTuningError("dense restoration follows EViT's kept tokens; ToMe merging is not supported for segmentation")
        }
        guard trunk.tuning.method != .vptDeep else { throw SparseTuningError("vpt-deep is not supported for segmentation") }
        self.trunk = trunk
        self.settings = settings
        levels = settings.levelBlocks(depth: trunk.config.depth)
        switch settings.head {
        case .linear:
            linearHead = LinearSegmentationHead(dim: trunk.config.dim, classes: settings.classes, seed: seed)
            uperHead = nil
        case .upernet:
            linearHead = nil
            uperHead = UPerNetHead(inChannels: trunk.config.dim, channels: settings.channels, classes: settings.classes, seed: seed)
        }
        headParameters = linearHead?.parameters() ?? uperHead!.parameters()
    }

    /// Everything that trains: the method's tensors, then the head's.
    public var trainable: [Parameter] { trunk.trainable + headParameters }

    /// The head's trainable tensors (one set, made once: their gradient buffers persist between steps).
    public let headParameters: [Parameter]

    /// Logits (B, K, H, W) at the input's resolution for normalised images (B, 3, H, W), in inference mode.
    public func forward(_ images: Tensor) throws -> Tensor {
        let logits = try inference(images).logits
        return bilinearResize(logits, height: images.shape[2], width: images.shape[3])
    }

    /// The restored features (B, h·w, C) of every level, for inspection and tests.
    public func restoredFeatures(_ images: Tensor) throws -> [Int: Tensor] {
        try inference(images).restored
    }

    private func inference(_ images: Tensor) throws -> Pass {
        let shape = try trunk.backbone.checkInput(images)
        return try trunk.arenas.with(trunk.arenaKey(shape, keepRate: trunk.tuning.keepRate, training: false) + " segmentation") { arena in
            try pass(images, arena: arena, keepRate: trunk.tuning.keepRate, training: false, tape: nil, rng: nil)
        }
    }

    /// One training pass: pixel cross-entropy (mean over non-ignored pixels) of the upsampled logits against
    /// `labels` (B·H·W, ignore = `settings.ignoreIndex`); gradients accumulated into ``trainable``.
    public func forwardBackward(_ images: Tensor, labels: [Int32], training: Bool, keepRate: Double? = nil,
                                rng: inout SeededGenerator) throws -> (loss: Float, logits: Tensor) {
        let shape = try trunk.backbone.checkInput(images)
        let kappa = keepRate ?? trunk.tuning.keepRate
        let key = trunk.arenaKey(shape, keepRate: kappa, training: true) + " segmentation"
        return try trunk.arenas.with(key) { arena in
            try withUnsafeMutablePointer(to: &rng) { rng in
                try trainingStep(images, arena: arena, keepRate: kappa, training: training, labels: labels, rng: rng)
            }
        }
    }

    /// Forward, loss and backward within one arena step (the tape's activations live in `arena`).
    private func trainingStep(_ images: Tensor, arena: Arena, keepRate: Double, training: Bool, labels: [Int32],
                              rng: UnsafeMutablePointer<SeededGenerator>) throws -> (loss: Float, logits: Tensor) {
        let tape = ModelTape()
        let (h, w) = (images.shape[2], images.shape[3])
        let out = try pass(images, arena: arena, keepRate: keepRate, training: training, tape: tape, rng: rng)
        let up = bilinearResize(out.logits, height: h, width: w)  // (B, K, H, W)
        let (loss, dUp) = try PixelCrossEntropy.forwardBackward(logits: up, labels: labels, ignore: Int32(settings.ignoreIndex))
        let dLogits = bilinearResizeBackward(dUp, inputHeight: out.logits.shape[2], inputWidth: out.logits.shape[3])
        let grads = Dictionary(uniqueKeysWithValues: trainable.map { ($0.name, $0) })
        var dDense: [Int: Tensor] = [:]  // (B, G, C) per level
        switch out.headTape {
        case .linear(let tape): dDense[levels.last!] = linearHead!.backward(dLogits, tape: tape, grads: grads)
        case .upernet(let tape):
            for (level, d) in zip(levels, uperHead!.backward(dLogits, tape: tape)) { dDense[level] = Self.tokens(fromMap: d) }
        }
        // Through the restoration maps into block outputs and reduction inputs, then the blocks.
        var dOutputs: [Int: Tensor] = [:], dInputs: [Int: Tensor] = [:]
        for (l, t) in out.result.reductionInputs { dInputs[l] = Tensor(zeros: t.shape) }
        for (level, d) in dDense {
            let dOut = dOutputs[level] ?? Tensor(zeros: out.result.blockOutputs[level]!.shape)
            out.maps[level]!.scatter(d.data, channels: trunk.config.dim, dOutput: dOut, dInputs: dInputs)
            dOutputs[level] = dOut
        }
        let top = levels.last!
        let dTop = dOutputs.removeValue(forKey: top)!
        trunk.blocksBackward(dTop, top: top, dOutputs: dOutputs, dReductionInputs: dInputs, tape: tape, arena: arena)
        return (loss, up)
    }

    /// What the head's backward pass needs.
    private enum HeadTape {
        case linear(LinearSegmentationHead.Tape)
        case upernet(UPerNetTape)
    }

    /// (B, G, C) tokens as a (B, C, h, w) map.
    static func map(fromTokens t: Tensor, grid: (h: Int, w: Int)) -> Tensor {
        let b = t.shape[0], g = t.shape[1], c = t.shape[2]
        let out = Tensor(uninitialized: [b, c, grid.h, grid.w])  // (B, C, h, w)
        for bi in 0..<b { for p in 0..<g { for j in 0..<c { out.data[(bi * c + j) * g + p] = t.data[(bi * g + p) * c + j] } } }
        return out
    }

    /// (B, C, h, w) as (B, h·w, C) tokens (the adjoint of ``map(fromTokens:grid:)``).
    static func tokens(fromMap m: Tensor) -> Tensor {
        let b = m.shape[0], c = m.shape[1], g = m.shape[2] * m.shape[3]
        let out = Tensor(uninitialized: [b, g, c])  // (B, G, C)
        for bi in 0..<b { for p in 0..<g { for j in 0..<c { out.data[(bi * g + p) * c + j] = m.data[(bi * c + j) * g + p] } } }
        return out
    }

    private struct Pass {
        let logits: Tensor  // (B, K, h', w') head output
        let headTape: HeadTape
        let maps: [Int: RestorationMap]
        let restored: [Int: Tensor]  // (B, G, C) per level
        let result: ForwardResult
    }

    /// The trunk (with a tape when training), the restoration of every level and the head.
    private func pass(_ images: Tensor, arena: Arena, keepRate: Double, training: Bool, tape: ModelTape?,
                      rng: UnsafeMutablePointer<SeededGenerator>?) throws -> Pass {
        let shape = try trunk.backbone.checkInput(images)
        let cfg = trunk.config, c = cfg.dim
        let result = try trunk.run(images, arena: arena, keepRate: keepRate, training: training, tape: tape, rng: rng,
                                   stopBeforeHead: true, collect: Set(levels), collectReductionInputs: true)
        let grid = (h: shape.height / cfg.patch, w: shape.width / cfg.patch), g = grid.h * grid.w
        var maps: [Int: RestorationMap] = [:], restored: [Int: Tensor] = [:]
        for level in levels {
            let map = RestorationMap.build(level: level, reductions: result.reductions, inputs: result.reductionInputs,
                                           prefix: cfg.prefixTokens, patches: g, batch: shape.batch, channels: c,
                                           rule: settings.restore)
            let dense = Tensor(uninitialized: [shape.batch, g, c])  // (B, G, C)
            map.gather(output: result.blockOutputs[level]!, inputs: result.reductionInputs, channels: c, into: dense.data)
            maps[level] = map
            restored[level] = dense
        }
        let logits: Tensor, headTape: HeadTape
        if let linearHead {
            let (l, t) = linearHead.forward(restored[levels.last!]!, grid: grid)
            (logits, headTape) = (l, .linear(t))
        } else {
            let maps = levels.map { Self.map(fromTokens: restored[$0]!, grid: grid) }  // (B, C, h, w) each
            let (l, t) = try uperHead!.forward(maps, training: training)
            (logits, headTape) = (l, .upernet(t))
        }
        return Pass(logits: logits, headTape: headTape, maps: maps, restored: restored, result: result)
    }
}
