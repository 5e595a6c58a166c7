// Frozen features: when only the head trains, the backbone's output for an image never changes, so it can be
// computed once and the head trained on it (a linear probe then costs one forward over the data). These entry
// points run the same head part as the full pass (`classify`) and the same head backward (docs/ENGINE.md).

extension TunedViT {
    /// True when nothing below the head trains: no block module, no prompt, no backbone tensor.
    public var trainsHeadOnly: Bool {
        firstTrainableBlock == config.depth && !tuning.trainsBackbone && prompts == nil && temporalPool?.query == nil
    }

    /// The head's input (B, W) (W = C, or 2C for a distilled model) for images (B, 3, H, W): the pooled, final-normed features before any BatchNorm head.
    public func headInputs(_ images: Tensor) throws -> Tensor {
        let key = arenaKey(try backbone.checkInput(images), keepRate: tuning.keepRate, training: false) + " features"
        return try arenas.with(key) { arena in
            try run(images, arena: arena, keepRate: tuning.keepRate, training: false, tape: nil, rng: nil, stopBeforeHead: true).logits
        }
    }

    /// Logits (B, K) from head inputs (B, W) (see ``headInputs(_:)``) in inference mode.
    public func classify(headInputs features: Tensor) throws -> Tensor {
        try checkHeadInputs(features)
        return arenas.with("head \(features.shape[0])") { arena in
            classify(features, training: false, tape: nil, arena: arena)
        }
    }

    /// One training pass of the head alone on head inputs (B, W): the BatchNorm head (batch statistics when
    /// `training`) and the classifier forward, `loss(logits)`, and the head's gradients accumulated into
    /// ``trainable``. Equals ``forwardBackward(_:training:keepRate:rng:loss:)`` on the images the inputs came from
    /// when ``trainsHeadOnly``.
    public func headForwardBackward(_ features: Tensor, training: Bool,
                                    loss: (Tensor) throws -> (Float, Tensor)) throws -> (loss: Float, logits: Tensor) {
        try checkHeadInputs(features)
        guard trainsHeadOnly else {
            throw SparseTuningError("training on cached features needs a model where only the head trains (method \(tuning.method.rawValue))")
        }
        return try arenas.with("head \(features.shape[0]) train") { arena in
            let tape = ModelTape()
            let logits = classify(features, training: training, tape: tape, arena: arena)
            let (value, dLogits) = try loss(logits)
            headBackward(dLogits, tape: tape, arena: arena)
            return (value, logits)
        }
    }

    private func checkHeadInputs(_ features: Tensor) throws {
        guard features.shape.count == 2, features.shape[0] > 0, features.shape[1] == config.headWidth else {
            throw SparseTuningError("head inputs have shape \(features.shape); expected (B, \(config.headWidth))")
        }
    }
}
