// 2-D convolution and transposed convolution (deconvolution) through oneDNN, fp32 NCHW: forward, backward data and
// backward weights, primitives cached by shape. The layer `Conv2D` (plain or transposed) calls these.
import CDNNL

/// The shapes of one (de)convolution. Weights are in PyTorch's layouts: Conv2d (O, I, k, k), ConvTranspose2d
/// (I, O, k, k); oneDNN's deconvolution weights are (O, I, k, k) logically, so the transposed layout is given to it
/// by strides (no copy).
struct ConvSpec: Hashable, CustomStringConvertible {
    var transposed: Bool
    var batch: Int, inChannels: Int, outChannels: Int
    var inH: Int, inW: Int
    var kernel: Int, stride: Int, padding: Int
    var bias: Bool

    var outH: Int { transposed ? (inH - 1) * stride - 2 * padding + kernel : (inH + 2 * padding - kernel) / stride + 1 }
    var outW: Int { transposed ? (inW - 1) * stride - 2 * padding + kernel : (inW + 2 * padding - kernel) / stride + 1 }
    var inShape: [Int] { [batch, inChannels, inH, inW] }
    var outShape: [Int] { [batch, outChannels, outH, outW] }
    var weightShape: [Int] { transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel] }

    var description: String {
        "\(transposed ? "deconv" : "conv") b\(batch) \(inChannels)->\(outChannels) \(inH)x\(inW) k\(kernel) s\(stride) p\(padding) bias\(bias)"
    }

    private var srcMD: dnnl_memory_desc_t { DNNL.descriptor(dims: inShape, strides: DNNL.contiguousStrides(inShape)) }
    private var dstMD: dnnl_memory_desc_t { DNNL.descriptor(dims: outShape, strides: DNNL.contiguousStrides(outShape)) }
    private var biasMD: dnnl_memory_desc_t { DNNL.descriptor(dims: [outChannels], strides: [1]) }
    /// oneDNN's logical (O, I, k, k) over PyTorch's storage.
    private var weightsMD: dnnl_memory_desc_t {
        let kk = kernel * kernel
        let strides = transposed ? [kk, outChannels * kk, kernel, 1] : [inChannels * kk, kk, kernel, 1]
        return DNNL.descriptor(dims: [outChannels, inChannels, kernel, kernel], strides: strides)
    }
    private var alg: dnnl_alg_kind_t { transposed ? dnnl_deconvolution_direct : dnnl_convolution_direct }
    private var strides: [Int64] { [Int64(stride), Int64(stride)] }
    private var pads: [Int64] { [Int64(padding), Int64(padding)] }

    /// The forward operation descriptor (convolution and deconvolution descriptors are the same C type).
    private func forwardDesc() -> dnnl_convolution_desc_t {
        var d = dnnl_convolution_desc_t()
        var s = srcMD, w = weightsMD, b = biasMD, o = dstMD
        let status = withUnsafePointer(to: &b) { bp in
            let bias = self.bias ? bp : nil
            return transposed
                ? dnnl_deconvolution_forward_desc_init(&d, dnnl_forward_training, alg, &s, &w, bias, &o, strides, pads, pads)
                : dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, alg, &s, &w, bias, &o, strides, pads, pads)
        }
        DNNL.check(status, "\(self) forward_desc_init")
        return d
    }

    private func forwardPD(_ attr: dnnl_primitive_attr_t?) -> dnnl_primitive_desc_t {
        var d = forwardDesc()
        return DNNLPrimitive.describe(&d, attr, "\(self) forward")
    }

    /// y (B, O, outH, outW) = conv(x (B, I, H, W), w) (+ bias (O)).
    func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias biasPtr: UnsafePointer<Float>?,
                 y: UnsafeMutablePointer<Float>) {
        var args = [DNNLArg.src: srcMD, DNNLArg.weights: weightsMD, DNNLArg.dst: dstMD]
        if bias { args[DNNLArg.bias] = biasMD }
        let p = DNNLPrimitiveCache.primitive("fwd \(self)") { DNNLPrimitive(args: args) { forwardPD($0) } }
        var bind: [DNNLBinding] = [DNNLBinding(DNNLArg.src, x), DNNLBinding(DNNLArg.weights, weight), DNNLBinding(DNNLArg.dst, y)]
        if bias { bind.append(DNNLBinding(DNNLArg.bias, biasPtr!)) }
        p.run(bind)
    }

    /// dx (B, I, H, W) = the input gradient of dy (B, O, outH, outW) (overwrites dx).
    func backwardData(dy: UnsafePointer<Float>, weight: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>) {
        let p = DNNLPrimitiveCache.primitive("bwd-data \(self)") {
            DNNLPrimitive(args: [DNNLArg.diffDst: dstMD, DNNLArg.weights: weightsMD, DNNLArg.diffSrc: srcMD]) { attr in
                let hint = forwardPD(nil)
                defer { dnnl_primitive_desc_destroy(hint) }
                var d = dnnl_convolution_desc_t()
                var s = srcMD, w = weightsMD, o = dstMD
                let status = transposed
                    ? dnnl_deconvolution_backward_data_desc_init(&d, alg, &s, &w, &o, strides, pads, pads)
                    : dnnl_convolution_backward_data_desc_init(&d, alg, &s, &w, &o, strides, pads, pads)
                DNNL.check(status, "\(self) backward_data_desc_init")
                return DNNLPrimitive.describe(&d, attr, hint: hint, "\(self) backward data")
            }
        }
        p.run([DNNLBinding(DNNLArg.diffDst, dy), DNNLBinding(DNNLArg.weights, weight), DNNLBinding(DNNLArg.diffSrc, dx)])
    }

    /// dw (weight shape) and db (O) of dy (B, O, outH, outW) for input x (B, I, H, W) (overwrites both).
    func backwardWeights(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
                         db: UnsafeMutablePointer<Float>?) {
        var args = [DNNLArg.src: srcMD, DNNLArg.diffDst: dstMD, DNNLArg.diffWeights: weightsMD]
        if bias { args[DNNLArg.diffBias] = biasMD }
        let p = DNNLPrimitiveCache.primitive("bwd-weights \(self)") {
            DNNLPrimitive(args: args) { attr in
                let hint = forwardPD(nil)
                defer { dnnl_primitive_desc_destroy(hint) }
                var d = dnnl_convolution_desc_t()
                var s = srcMD, w = weightsMD, b = biasMD, o = dstMD
                let status = withUnsafePointer(to: &b) { bp in
                    let bias = self.bias ? bp : nil
                    return transposed
                        ? dnnl_deconvolution_backward_weights_desc_init(&d, alg, &s, &w, bias, &o, strides, pads, pads)
                        : dnnl_convolution_backward_weights_desc_init(&d, alg, &s, &w, bias, &o, strides, pads, pads)
                }
                DNNL.check(status, "\(self) backward_weights_desc_init")
                return DNNLPrimitive.describe(&d, attr, hint: hint, "\(self) backward weights")
            }
        }
        var bind: [DNNLBinding] = [DNNLBinding(DNNLArg.src, x), DNNLBinding(DNNLArg.diffDst, dy), DNNLBinding(DNNLArg.diffWeights, dw)]
        if bias { bind.append(DNNLBinding(DNNLArg.diffBias, db!)) }
        p.run(bind)
    }

    /// Multiply-accumulates of one forward pass for one image (fvcore's count: bias excluded).
    var macsPerImage: Int {
        transposed ? inChannels * outChannels * kernel * kernel * inH * inW
                   : outChannels * outH * outW * inChannels * kernel * kernel
    }
}
