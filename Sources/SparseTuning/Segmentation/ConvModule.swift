// ConvModule: mmcv's conv → BatchNorm → ReLU block (convolution without bias), the unit of the UPerNet head, with
// mmseg's parameter names `<name>.conv.weight`, `<name>.bn.{weight,bias,running_mean,running_var}`.

/// Conv2D (no bias, padding k/2) → BatchNorm2D → ReLU.
final class ConvModule: Sendable {
    let conv: Conv2D
    let bn: BatchNorm2D

    init(name: String, inChannels: Int, outChannels: Int, kernel: Int, rng: inout SeededGenerator) {
        conv = Conv2D(name: "\(name).conv", inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                      padding: kernel / 2, bias: false, rng: &rng)
        bn = BatchNorm2D(name: "\(name).bn", channels: outChannels)
    }

    /// What the backward pass needs (shapes for input (B, I, H, W), output (B, O, H, W)).
    struct Tape: Sendable {
        let x: Tensor  // (B, I, H, W) input
        let convOut: Tensor  // (B, O, H, W) before BN
        let bn: BatchNorm2D.Saved
        let y: Tensor  // (B, O, H, W) after ReLU
    }

    func forward(_ x: Tensor, training: Bool) -> (y: Tensor, tape: Tape) {
        let c = conv.forward(x)  // (B, O, H, W)
        let (n, saved) = bn.forward(c, training: training)  // (B, O, H, W)
        let y = ReLU.forward(n)  // (B, O, H, W)
        return (y, Tape(x: x, convOut: c, bn: saved, y: y))
    }

    /// dx (B, I, H, W) (nil unless `inputGradient`); parameter gradients accumulated.
    func backward(_ dy: Tensor, tape: Tape, inputGradient: Bool = true) -> Tensor? {
        let dn = ReLU.backward(dy, output: tape.y)  // (B, O, H, W)
        let dc = bn.backward(dn, input: tape.convOut, saved: tape.bn)  // (B, O, H, W)
        return conv.backward(dc, input: tape.x, inputGradient: inputGradient)
    }

    var parameters: [Parameter] { [conv.weight, bn.weight, bn.bias] }
    var buffers: [(name: String, tensor: Tensor)] { bn.buffers }
}
