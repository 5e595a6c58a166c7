// What a training forward pass saves for the backward pass: one BlockTape per block that has something to train
// at or below it, plus the head's inputs. Every tensor lives in the step's arena (docs/ENGINE.md).

/// What one block's forward pass saved for its backward pass. N is the block's input token count, N' its output
/// count (N' = N without reduction), M the MLP width, r/d adapter widths.
final class BlockTape {
    var tokensIn = 0
    var dropMasks: (attn: [Float], mlp: [Float])?  // per-sample drop-path scales (B) of each branch
    var xIn: Tensor!       // (B, N, C) block input
    var mean1: Tensor!     // (B·N) norm1 statistics
    var rstd1: Tensor!     // (B·N)
    var h1: Tensor?        // (B, N, C) norm1 output (trainable qkv or LoRA only)
    var loraT: Tensor?     // (B·N, r) h1·Aᵀ
    /// qkv is kept; the attention probabilities are recomputed from it in the backward pass (cheap, and the
    /// largest activation otherwise).
    var qkv: Tensor!       // (B, N, 3C)
    var sizes: Tensor?     // (B, N) ToMe token sizes entering the block
    var ctx: Tensor?       // (B, N, C) attention output before proj (trainable proj only)
    var reduction: TokenReduction?
    var xAttn: Tensor?     // (B, N, C) reduction input (EViT fusion-weight gradients)
    var accIn: Tensor?     // (B, N, C) official adapters' stage sum entering the reduction
    var xl: Tensor!        // (B, N', C) x_l: MLP and adapter input
    var mean2: Tensor!     // (B·N') norm2 statistics
    var rstd2: Tensor!     // (B·N')
    var h2: Tensor?        // (B, N', C) norm2 output (trainable fc1 only)
    var u: Tensor?         // (B, N', M) fc1 output before the activation (nil: recomputed in the backward pass)
    var g: Tensor?         // (B, N', M) act(u) (trainable fc2 only)
    var m0: Tensor?        // (B, N', C) MLP output entering the Houlsby adapter
    var houlsbyHidden: Tensor?  // (B·N', d)
    var afHidden: Tensor?  // (B·N', d) AdaptFormer post-ReLU hidden
    var denseZ: Tensor?    // (B·N', r) Dense Adapter pre-ReLU bottleneck
    var denseS1: Tensor?   // (B, N', C) S_l(a_{l−1}) when no reduction maps it (else recomputed from chain1)
    var denseS3: Tensor?   // (B, N', C) S_l(a_{l−3}) when no reduction maps it (else recomputed from chain3)
    var chain1: [(block: Int, input: Tensor)] = []  // reductions applied to a_{l−1}, with their inputs (B, N_k, C)
    var chain3: [(block: Int, input: Tensor)] = []  // the same for a_{l−3}
    var officialSaved: OfficialAdapter.Saved?
}

/// Everything a training forward pass saved.
final class ModelTape {
    var images: Tensor!           // (B, 3, H, W), or clips (B, T, 3, H, W)
    var input: VisionTransformer.InputShape!
    var embedding: Tensor?        // (B, N, C) norm_pre's input (pre-norm models, full fine-tuning only)
    var meanPre: Tensor?          // (B·N) norm_pre statistics
    var rstdPre: Tensor?          // (B·N)
    /// Per block (nil below the first trainable block); the backward pass releases each entry when done with it.
    var blocks: [BlockTape?] = []
    var reductions: [Int: TokenReduction] = [:]
    var xFinal: Tensor!           // (B, N, C) last block's output
    var meanF: Tensor!            // (B·N) final norm statistics
    var rstdF: Tensor!            // (B·N)
    var pooledIn: Tensor?         // (B·S, C) fc_norm input (S = sequences per sample: T for a per-frame video model)
    var pooledMean: Tensor?       // (B·S) fc_norm statistics
    var pooledRstd: Tensor?       // (B·S)
    var frameFeatures: Tensor?    // (B·T, W) per-frame video model: each frame's pooled features
    var frameWeights: Tensor?     // (B, T) their temporal pooling weights
    var features: Tensor!         // (B, W) head input (W = C, or 2C for a distilled model)
    var bnInv: [Float] = []       // (W) BatchNorm head inverse standard deviations
    var training = false
}
