// Builds the model a command asked for: configuration from the flags (or from a Google .npz's shapes), weights
// layered from --weights files, the class count defaulting to the checkpoint's head.
import SparseTuning

/// The model described by `options` with `weights` loaded in order (random initialisation when none are given).
func buildModel(_ options: ModelOptions, weights: [String]) throws -> VisionTransformer {
    let model = try loadModel(options, weights: weights)
    model.precision = try options.parsedPrecision()
    return model
}

private func loadModel(_ options: ModelOptions, weights: [String]) throws -> VisionTransformer {
    try options.applyThreads()
    _ = try options.parsedPrecision()
    guard !weights.isEmpty else { return try VisionTransformer(config: options.config()) }
    let layered = try Checkpoint.loadLayered(weights)
    let head = layered.tensors["head.weight"]
    // The image size the checkpoint's pos_embed was trained for, when --image-size is not given.
    let posTokens = layered.tensors["pos_embed"].map { $0.shape.count == 3 ? $0.shape[1] - 1 : 0 } ?? 0
    let side = Int(Double(posTokens).squareRoot())
    func defaultSize(patch: Int) -> Int? { side > 0 && side * side == posTokens ? side * patch : nil }
    var config: ViTConfig
    if options.arch == nil && options.dim == nil, let layout = try googleLayout(weights) {
        // A Google .npz names its own architecture; flags may still set image size, classes and pooling.
        config = ViTConfig(dim: layout.dim, depth: layout.depth, heads: layout.heads, mlpDim: layout.mlpDim,
                           patch: layout.patchSize)
        try options.apply(to: &config, defaultClasses: head?.shape.first ?? 0,
                          defaultImageSize: defaultSize(patch: layout.patchSize))
    } else {
        config = try options.config(defaultClasses: head?.shape.first ?? 0)
        if options.imageSize == nil, let size = defaultSize(patch: config.patch) {
            config.imageSize = size
            try config.validate()
        }
    }
    let model = try VisionTransformer(config: config)
    let report = try model.load(layered.tensors, sources: layered.sources)
    if let dropped = report.headDropped { note("note: checkpoint head not used: \(dropped)") }
    return model
}

/// The layout of the first Google .npz among `paths`, if any.
private func googleLayout(_ paths: [String]) throws -> GoogleViTLayout? {
    for p in paths {
        let info = try Checkpoint.inspect(p)
        if info.format == .googleNPZ { return info.googleLayout }
    }
    return nil
}
