// Conv2D: a 2-D convolution layer (PyTorch nn.Conv2d) or, `transposed`, a transposed convolution (nn.ConvTranspose2d)
// — square kernel, stride, padding, optional bias — with its trainable weight and bias; forward and backward through
// oneDNN convolution or deconvolution (`ConvSpec`).

/// `y = conv2d(x, weight, bias, stride, padding)` (or `conv_transpose2d`) on NCHW fp32 tensors, the weight laid out as
/// PyTorch stores it: (O, I, k, k), or (I, O, k, k) when transposed.
public final class Conv2D: Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let transposed: Bool
    /// (O, I, k, k), or (I, O, k, k) when transposed
    public let weight: Parameter
    /// (O), or nil for a convolution without bias.
    public let bias: Parameter?

    /// Weights U(−1/√fan_in, 1/√fan_in) with PyTorch's fan_in (weight dimension 1 times k²: I·k², or O·k² when
    /// transposed; its default initialisation), bias likewise; `name` prefixes the parameter names (`<name>.weight`,
    /// `<name>.bias`).
    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, transposed: Bool = false, rng: inout SeededGenerator) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.transposed = transposed
        let shape = transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel]
        let w = Tensor(zeros: shape)  // (O, I, k, k), or (I, O, k, k) when transposed
        let bound = 1 / Float(shape[1] * kernel * kernel).squareRoot()
        w.fillUniform(bound: bound, using: &rng)
        weight = Parameter(name: "\(name).weight", value: w)
        if bias {
            let b = Tensor(zeros: [outChannels])  // (O)
            b.fillUniform(bound: bound, using: &rng)
            self.bias = Parameter(name: "\(name).bias", value: b)
        } else {
            self.bias = nil
        }
    }

    func spec(_ x: Tensor) -> ConvSpec {
        precondition(x.shape.count == 4 && x.shape[1] == inChannels, "\(kind)(\(inChannels)→\(outChannels)): input \(x.shape)")
        return ConvSpec(transposed: transposed, batch: x.shape[0], inChannels: inChannels, outChannels: outChannels,
                        inH: x.shape[2], inW: x.shape[3], kernel: kernel, stride: stride, padding: padding, bias: bias != nil)
    }

    /// y (B, O, H', W') of x (B, I, H, W).
    public func forward(_ x: Tensor) -> Tensor {
        let s = spec(x)
        let y = Tensor(uninitialized: s.outShape)  // (B, O, H', W')
        s.forward(x: x.data, weight: weight.value.data, bias: bias?.value.data, y: y.data)
        return y
    }

    /// Accumulates d(weight) and d(bias) into the parameters' `grad` and returns dx (B, I, H, W) when
    /// `inputGradient` (nil otherwise). `x` is the forward input.
    public func backward(_ dy: Tensor, input x: Tensor, inputGradient: Bool = true) -> Tensor? {
        let s = spec(x)
        precondition(dy.shape == s.outShape, "\(kind) backward: dy \(dy.shape), expected \(s.outShape)")
        let dw = Tensor(uninitialized: s.weightShape)  // like the weight
        let db = bias.map { _ in Tensor(uninitialized: [outChannels]) }  // (O)
        s.backwardWeights(dy: dy.data, x: x.data, dw: dw.data, db: db?.data)
        Elementwise.add(dw.data, into: weight.grad.data, count: dw.count)
        if let db, let bias { Elementwise.add(db.data, into: bias.grad.data, count: db.count) }
        guard inputGradient else { return nil }
        let dx = Tensor(uninitialized: s.inShape)  // (B, I, H, W)
        s.backwardData(dy: dy.data, weight: weight.value.data, dx: dx.data)
        return dx
    }

    /// Multiply-accumulates of one image's forward pass at input size h × w.
    public func macs(h: Int, w: Int) -> Int {
        ConvSpec(transposed: transposed, batch: 1, inChannels: inChannels, outChannels: outChannels, inH: h, inW: w,
                 kernel: kernel, stride: stride, padding: padding, bias: false).macsPerImage
    }

    private var kind: String { transposed ? "ConvTranspose2D" : "Conv2D" }
}
