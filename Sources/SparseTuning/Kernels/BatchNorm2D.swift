// BatchNorm2D: PyTorch nn.BatchNorm2d (affine, eps 1e-5, momentum 0.1, running statistics) on NCHW fp32 through
// oneDNN batch normalisation: training forward (batch statistics, saved for the backward; running statistics
// updated with the unbiased variance as PyTorch does), inference forward (running statistics), and backward
// (input, scale and shift gradients) for both.
import CDNNL

/// Batch normalisation over (B, H, W) per channel with a learned scale (`weight`) and shift (`bias`).
public final class BatchNorm2D: Sendable {
    public let channels: Int
    public let eps: Float
    public let momentum: Float
    /// γ (C)
    public let weight: Parameter
    /// β (C)
    public let bias: Parameter
    /// (C) running mean, a buffer (not trained), named `<name>.running_mean`.
    public let runningMean: Tensor
    /// (C) running (unbiased) variance, a buffer, named `<name>.running_var`.
    public let runningVar: Tensor
    /// Checkpoint names of the two buffers.
    public let runningMeanName: String, runningVarName: String

    /// γ = 1, β = 0, running mean 0 and variance 1 (PyTorch's initial state).
    public init(name: String, channels: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(name: "\(name).weight", value: Tensor(shape: [channels], values: .init(repeating: 1, count: channels)))
        bias = Parameter(name: "\(name).bias", value: Tensor(zeros: [channels]))
        runningMean = Tensor(zeros: [channels])  // (C)
        runningVar = Tensor(shape: [channels], values: .init(repeating: 1, count: channels))  // (C)
        runningMeanName = "\(name).running_mean"
        runningVarName = "\(name).running_var"
    }

    /// The buffers with their checkpoint names (for saving and loading).
    public var buffers: [(name: String, tensor: Tensor)] { [(runningMeanName, runningMean), (runningVarName, runningVar)] }

    /// What the backward pass needs from a forward: the statistics it normalised with, (C) each (batch mean and
    /// biased variance in training, copies of the running ones in inference).
    public struct Saved: Sendable {
        public let mean: Tensor  // (C)
        public let variance: Tensor  // (C)
        public let training: Bool
    }

    private func key(_ shape: [Int], _ what: String) -> String { "bnorm \(what) \(shape) eps\(eps)" }

    private func forwardPrimitive(_ shape: [Int], training: Bool) -> DNNLPrimitive {
        DNNLPrimitiveCache.primitive(key(shape, training ? "train" : "infer")) {
            let data = DNNL.descriptor(dims: shape, strides: DNNL.contiguousStrides(shape))
            let c = DNNL.descriptor(dims: [channels], strides: [1])
            return DNNLPrimitive(args: [DNNLArg.src: data, DNNLArg.dst: data, DNNLArg.mean: c, DNNLArg.variance: c,
                                        DNNLArg.scale: c, DNNLArg.shift: c]) { attr in
                self.describeForward(shape, training: training, attr)
            }
        }
    }

    private func flags(training: Bool) -> UInt32 {
        UInt32(dnnl_use_scale.rawValue | dnnl_use_shift.rawValue) | (training ? 0 : UInt32(dnnl_use_global_stats.rawValue))
    }

    private func describeForward(_ shape: [Int], training: Bool, _ attr: dnnl_primitive_attr_t?) -> dnnl_primitive_desc_t {
        var md = DNNL.descriptor(dims: shape, strides: DNNL.contiguousStrides(shape))
        var d = dnnl_batch_normalization_desc_t()
        DNNL.check(dnnl_batch_normalization_forward_desc_init(&d, training ? dnnl_forward_training : dnnl_forward_inference,
                                                              &md, eps, flags(training: training)), "bnorm forward_desc_init")
        return DNNLPrimitive.describe(&d, attr, "bnorm forward")
    }

    /// y (B, C, H, W) of x (B, C, H, W). In training the batch statistics are used and the running ones updated
    /// (running ← (1 − momentum)·running + momentum·batch, the variance unbiased by n/(n − 1), n = B·H·W).
    public func forward(_ x: Tensor, training: Bool) -> (y: Tensor, saved: Saved) {
        precondition(x.shape.count == 4 && x.shape[1] == channels, "BatchNorm2D(\(channels)): input \(x.shape)")
        let y = Tensor(uninitialized: x.shape)  // (B, C, H, W)
        let mean = training ? Tensor(uninitialized: [channels]) : runningMean.copy()  // (C)
        let variance = training ? Tensor(uninitialized: [channels]) : runningVar.copy()  // (C)
        forwardPrimitive(x.shape, training: training).run([
            DNNLBinding(DNNLArg.src, x.data), DNNLBinding(DNNLArg.dst, y.data), DNNLBinding(DNNLArg.mean, mean.data), DNNLBinding(DNNLArg.variance, variance.data),
            DNNLBinding(DNNLArg.scale, weight.value.data), DNNLBinding(DNNLArg.shift, bias.value.data)])
        if training {
            let n = x.count / channels
            let unbias = n > 1 ? Float(n) / Float(n - 1) : 1
            for c in 0..<channels {
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c]
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * variance[c] * unbias
            }
        }
        return (y, Saved(mean: mean, variance: variance, training: training))
    }

    /// dx (B, C, H, W) of dy for the forward input x; d(weight) and d(bias) accumulated into the parameters' `grad`.
    /// After an inference forward the statistics are constants (dx = dy·γ/√(var + eps)). (oneDNN 2.x counts the
    /// shift among the backward's inputs when it is used, so it is bound although the gradients do not read it.)
    public func backward(_ dy: Tensor, input x: Tensor, saved: Saved) -> Tensor {
        precondition(dy.shape == x.shape, "BatchNorm2D backward: dy \(dy.shape) vs x \(x.shape)")
        let shape = x.shape, training = saved.training
        let p = DNNLPrimitiveCache.primitive(key(shape, training ? "bwd-train" : "bwd-infer")) {
            let data = DNNL.descriptor(dims: shape, strides: DNNL.contiguousStrides(shape))
            let c = DNNL.descriptor(dims: [channels], strides: [1])
            return DNNLPrimitive(args: [DNNLArg.src: data, DNNLArg.mean: c, DNNLArg.variance: c, DNNLArg.diffDst: data,
                                        DNNLArg.scale: c, DNNLArg.shift: c, DNNLArg.diffSrc: data, DNNLArg.diffScale: c,
                                        DNNLArg.diffShift: c]) { attr in
                let hint = self.describeForward(shape, training: training, nil)
                defer { dnnl_primitive_desc_destroy(hint) }
                var md = DNNL.descriptor(dims: shape, strides: DNNL.contiguousStrides(shape))
                var diffMD = md
                var d = dnnl_batch_normalization_desc_t()
                DNNL.check(dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, &diffMD, &md, self.eps,
                                                                       self.flags(training: training)), "bnorm backward_desc_init")
                return DNNLPrimitive.describe(&d, attr, hint: hint, "bnorm backward")
            }
        }
        let dx = Tensor(uninitialized: shape)  // (B, C, H, W)
        let dGamma = Tensor(uninitialized: [channels]), dBeta = Tensor(uninitialized: [channels])  // (C) each
        p.run([DNNLBinding(DNNLArg.src, x.data), DNNLBinding(DNNLArg.mean, saved.mean.data), DNNLBinding(DNNLArg.variance, saved.variance.data),
               DNNLBinding(DNNLArg.diffDst, dy.data), DNNLBinding(DNNLArg.scale, weight.value.data),
               DNNLBinding(DNNLArg.shift, bias.value.data), DNNLBinding(DNNLArg.diffSrc, dx.data),
               DNNLBinding(DNNLArg.diffScale, dGamma.data), DNNLBinding(DNNLArg.diffShift, dBeta.data)])
        Elementwise.add(dGamma.data, into: weight.grad.data, count: channels)
        Elementwise.add(dBeta.data, into: bias.grad.data, count: channels)
        return dx
    }
}
