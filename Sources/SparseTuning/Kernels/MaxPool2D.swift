// MaxPool2D: max pooling (PyTorch F.max_pool2d, square kernel, stride, no padding) through oneDNN pooling; the
// training forward keeps oneDNN's workspace (the argmax) for the backward pass.
import CDNNL

/// Max pooling with kernel `kernel` and stride `stride` on NCHW fp32 tensors (output ⌊(n − k)/s⌋ + 1).
public struct MaxPool2D: Sendable {
    public let kernel: Int, stride: Int

    public init(kernel: Int = 2, stride: Int = 2) {
        self.kernel = kernel
        self.stride = stride
    }

    /// What the backward pass needs: oneDNN's workspace bytes (held in a tensor) and the input's shape.
    public struct Saved: Sendable {
        let workspace: Tensor  // (⌈bytes/4⌉) opaque
        let inputShape: [Int]  // (B, C, H, W)
    }

    private func outShape(_ s: [Int]) -> [Int] { [s[0], s[1], (s[2] - kernel) / stride + 1, (s[3] - kernel) / stride + 1] }

    private func describeForward(_ shape: [Int], _ attr: dnnl_primitive_attr_t?) -> dnnl_primitive_desc_t {
        let o = outShape(shape)
        var src = DNNL.descriptor(dims: shape, strides: DNNL.contiguousStrides(shape))
        var dst = DNNL.descriptor(dims: o, strides: DNNL.contiguousStrides(o))
        var d = dnnl_pooling_desc_t()
        let st = [Int64(stride), Int64(stride)], k = [Int64(kernel), Int64(kernel)], pad: [Int64] = [0, 0]
        DNNL.check(dnnl_pooling_forward_desc_init(&d, dnnl_forward_training, dnnl_pooling_max, &src, &dst, st, k, pad, pad),
                   "pooling forward_desc_init")
        return DNNLPrimitive.describe(&d, attr, "max pooling forward")
    }

    /// y (B, C, H', W') of x (B, C, H, W), and what the backward needs.
    public func forward(_ x: Tensor) -> (y: Tensor, saved: Saved) {
        precondition(x.shape.count == 4 && x.shape[2] >= kernel && x.shape[3] >= kernel, "MaxPool2D: input \(x.shape)")
        let shape = x.shape
        let p = DNNLPrimitiveCache.primitive("maxpool fwd \(shape) k\(kernel) s\(stride)") {
            DNNLPrimitive(args: [DNNLArg.src: DNNL.descriptor(dims: shape, strides: DNNL.contiguousStrides(shape)),
                                 DNNLArg.dst: DNNL.descriptor(dims: outShape(shape), strides: DNNL.contiguousStrides(outShape(shape)))],
                          workspace: true) { describeForward(shape, $0) }
        }
        let y = Tensor(uninitialized: outShape(shape))  // (B, C, H', W')
        let workspace = Tensor(uninitialized: [max(1, (p.workspaceBytes + 3) / 4)])  // opaque argmax bytes
        p.run([DNNLBinding(DNNLArg.src, x.data), DNNLBinding(DNNLArg.dst, y.data), DNNLBinding(DNNLArg.workspace, workspace.data)])
        return (y, Saved(workspace: workspace, inputShape: shape))
    }

    /// dx (B, C, H, W): dy (B, C, H', W') routed to each window's maximum.
    public func backward(_ dy: Tensor, saved: Saved) -> Tensor {
        let shape = saved.inputShape, o = outShape(shape)
        precondition(dy.shape == o, "MaxPool2D backward: dy \(dy.shape), expected \(o)")
        let p = DNNLPrimitiveCache.primitive("maxpool bwd \(shape) k\(kernel) s\(stride)") {
            DNNLPrimitive(args: [DNNLArg.diffDst: DNNL.descriptor(dims: o, strides: DNNL.contiguousStrides(o)),
                                 DNNLArg.diffSrc: DNNL.descriptor(dims: shape, strides: DNNL.contiguousStrides(shape))],
                          workspace: true) { attr in
                let hint = describeForward(shape, nil)
                defer { dnnl_primitive_desc_destroy(hint) }
                var src = DNNL.descriptor(dims: shape, strides: DNNL.contiguousStrides(shape))
                var dst = DNNL.descriptor(dims: o, strides: DNNL.contiguousStrides(o))
                var d = dnnl_pooling_desc_t()
                let st = [Int64(stride), Int64(stride)], k = [Int64(kernel), Int64(kernel)], pad: [Int64] = [0, 0]
                DNNL.check(dnnl_pooling_backward_desc_init(&d, dnnl_pooling_max, &src, &dst, st, k, pad, pad),
                           "pooling backward_desc_init")
                return DNNLPrimitive.describe(&d, attr, hint: hint, "max pooling backward")
            }
        }
        let dx = Tensor(uninitialized: shape)  // (B, C, H, W)
        p.run([DNNLBinding(DNNLArg.diffDst, dy.data), DNNLBinding(DNNLArg.diffSrc, dx.data), DNNLBinding(DNNLArg.workspace, saved.workspace.data)])
        return dx
    }
}
