// The segmentation ops (Conv2D, plain and transposed, BatchNorm2D, MaxPool2D through oneDNN; adaptive average pooling,
// the head's bilinear resize, ReLU, channel concat) forward and backward against PyTorch autograd
// (Fixtures/seg/ops.safetensors, from scripts/fixtures/seg_head_fixtures.py).
import XCTest
import Foundation
@testable import SparseTuning

final class ConvOpsTests: XCTestCase {
    var f: Fixture!
    override func setUpWithError() throws { f = try Fixture("seg/ops.safetensors") }

    private func load(_ p: Parameter, _ name: String) {
        let t = f[name]
        XCTAssertEqual(p.value.shape, t.shape, name)
        p.value.data.update(from: t.data, count: t.count)
    }

    func testConv2DForwardAndGradients() throws {
        for i in 0..<3 {
            let c = "conv\(i).", x = f[c + "x"], w = f[c + "w"]
            let meta = try JSONSerialization.jsonObject(with: Data(f.meta("conv\(i)").utf8)) as! [String: Any]
            let hasBias = meta["bias"] as! Bool
            var rng = SeededGenerator(seed: 1)
            let conv = Conv2D(name: "c", inChannels: w.shape[1], outChannels: w.shape[0], kernel: w.shape[2],
                              stride: meta["stride"] as! Int, padding: meta["padding"] as! Int, bias: hasBias, rng: &rng)
            load(conv.weight, c + "w")
            if hasBias { load(conv.bias!, c + "b") }
            let y = conv.forward(x)
            XCTAssertEqual(y.shape, f[c + "y"].shape)
            assertClose(y.values, f[c + "y"].values, atol: 1e-5, rtol: 1e-5, "conv\(i) y")
            // Gradients accumulate: a non-zero starting grad is kept.
            conv.weight.grad.data.update(repeating: 1, count: conv.weight.grad.count)
            let dx = conv.backward(f[c + "dy"], input: x)!
            assertClose(dx.values, f[c + "dx"].values, atol: 1e-5, rtol: 1e-5, "conv\(i) dx")
            assertClose(conv.weight.grad.values, f[c + "dw"].values.map { $0 + 1 }, atol: 1e-5, rtol: 1e-5, "conv\(i) dw")
            if hasBias { assertClose(conv.bias!.grad.values, f[c + "db"].values, atol: 1e-5, rtol: 1e-5, "conv\(i) db") }
            XCTAssertNil(conv.backward(f[c + "dy"], input: x, inputGradient: false))
        }
    }

    func testConvTranspose2DForwardAndGradients() {
        let x = f["deconv.x"], w = f["deconv.w"]
        var rng = SeededGenerator(seed: 1)
        let deconv = Conv2D(name: "d", inChannels: w.shape[0], outChannels: w.shape[1], kernel: 2, stride: 2, transposed: true, rng: &rng)
        load(deconv.weight, "deconv.w")
        load(deconv.bias!, "deconv.b")
        let y = deconv.forward(x)
        XCTAssertEqual(y.shape, f["deconv.y"].shape)
        assertClose(y.values, f["deconv.y"].values, atol: 1e-5, rtol: 1e-5, "deconv y")
        let dx = deconv.backward(f["deconv.dy"], input: x)!
        assertClose(dx.values, f["deconv.dx"].values, atol: 1e-5, rtol: 1e-5, "deconv dx")
        assertClose(deconv.weight.grad.values, f["deconv.dw"].values, atol: 1e-5, rtol: 1e-5, "deconv dw")
        assertClose(deconv.bias!.grad.values, f["deconv.db"].values, atol: 1e-5, rtol: 1e-5, "deconv db")
    }

    func testBatchNorm2DTrainingAndInference() {
        for mode in ["train", "eval"] {
            let bn = BatchNorm2D(name: "bn", channels: 3)
            load(bn.weight, "bn.gamma")
            load(bn.bias, "bn.beta")
            bn.runningMean.data.update(from: f["bn.rm"].data, count: 3)
            bn.runningVar.data.update(from: f["bn.rv"].data, count: 3)
            let training = mode == "train"
            let (y, saved) = bn.forward(f["bn.x"], training: training)
            assertClose(y.values, f["bn.\(mode).y"].values, atol: 1e-5, rtol: 1e-5, "bn \(mode) y")
            if training {
                assertClose(bn.runningMean.values, f["bn.train.rm"].values, atol: 1e-6, rtol: 1e-6, "bn running mean")
                assertClose(bn.runningVar.values, f["bn.train.rv"].values, atol: 1e-6, rtol: 1e-6, "bn running var")
            } else {
                XCTAssertEqual(bn.runningMean.values, f["bn.rm"].values, "inference leaves running mean")
                XCTAssertEqual(bn.runningVar.values, f["bn.rv"].values, "inference leaves running var")
            }
            let dx = bn.backward(f["bn.dy"], input: f["bn.x"], saved: saved)
            assertClose(dx.values, f["bn.\(mode).dx"].values, atol: 1e-5, rtol: 1e-5, "bn \(mode) dx")
            assertClose(bn.weight.grad.values, f["bn.\(mode).dgamma"].values, atol: 1e-5, rtol: 1e-5, "bn \(mode) dgamma")
            assertClose(bn.bias.grad.values, f["bn.\(mode).dbeta"].values, atol: 1e-5, rtol: 1e-5, "bn \(mode) dbeta")
        }
    }

    func testMaxPool2D() {
        let pool = MaxPool2D(kernel: 2, stride: 2)
        let (y, saved) = pool.forward(f["pool.x"])
        XCTAssertEqual(y.shape, f["pool.y"].shape)
        XCTAssertEqual(y.values, f["pool.y"].values)
        XCTAssertEqual(pool.backward(f["pool.dy"], saved: saved).values, f["pool.dx"].values)
    }

    func testAdaptiveAveragePool() {
        for s in [3, 6] {
            let c = "adaptive\(s).", x = f[c + "x"]
            let y = AdaptiveAvgPool2D.forward(x, out: s)
            XCTAssertEqual(y.shape, f[c + "y"].shape)
            assertClose(y.values, f[c + "y"].values, atol: 1e-6, rtol: 1e-6, "adaptive \(s) y")
            let dx = AdaptiveAvgPool2D.backward(f[c + "dy"], inH: x.shape[2], inW: x.shape[3])
            assertClose(dx.values, f[c + "dx"].values, atol: 1e-6, rtol: 1e-6, "adaptive \(s) dx")
        }
    }

    /// The head's resizes (the shared bilinearResize) on the head fixture's cases, up and down.
    func testHeadBilinear() {
        for i in 0..<3 {
            let c = "bilinear\(i).", x = f[c + "x"], ref = f[c + "y"]
            let y = bilinearResize(x, height: ref.shape[2], width: ref.shape[3])
            XCTAssertEqual(y.shape, ref.shape)
            assertClose(y.values, ref.values, atol: 1e-6, rtol: 1e-6, "bilinear\(i) y")
            let dx = bilinearResizeBackward(f[c + "dy"], inputHeight: x.shape[2], inputWidth: x.shape[3])
            assertClose(dx.values, f[c + "dx"].values, atol: 1e-6, rtol: 1e-6, "bilinear\(i) dx")
        }
    }

    func testReLUAndChannelConcat() {
        let x = Tensor(shape: [1, 2, 1, 2], values: [-1, 2, 0, 3])
        let y = ReLU.forward(x)
        XCTAssertEqual(y.values, [0, 2, 0, 3])
        XCTAssertEqual(ReLU.backward(Tensor(shape: [1, 2, 1, 2], values: [5, 6, 7, 8]), output: y).values, [0, 6, 0, 8])
        let a = Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 4]), b = Tensor(shape: [2, 2, 1, 2], values: [5, 6, 7, 8, 9, 10, 11, 12])
        let cat = ChannelConcat.forward([a, b])
        XCTAssertEqual(cat.shape, [2, 3, 1, 2])
        XCTAssertEqual(cat.values, [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
        let parts = ChannelConcat.split(cat, channels: [1, 2])
        XCTAssertEqual(parts[0].values, a.values)
        XCTAssertEqual(parts[1].values, b.values)
    }
}
