// Each forward op against PyTorch/timm outputs (Fixtures/vit/ops.safetensors, from scripts/make_fixtures.py).
import XCTest
@testable import SparseTuning

final class OpsForwardTests: XCTestCase {
    var ops: Fixture!
    override func setUpWithError() throws { ops = try Fixture("vit/ops.safetensors") }

    func testLayerNorm() {
        let x = ops["layernorm.x"], c = x.shape.last!
        let ln = LayerNorm(dim: c, eps: 1e-6)
        ln.weight.data.update(from: ops["layernorm.weight"].data, count: c)
        ln.bias.data.update(from: ops["layernorm.bias"].data, count: c)
        let y = Tensor(zeros: x.shape)
        ln.forward(x.data, rows: x.count / c, into: y.data)
        assertClose(y.values, ops["layernorm.y"].values, atol: 1e-5, rtol: 1e-6, "layernorm")
    }

    func testSoftmax() {
        let x = ops["softmax.x"].copy()
        Softmax.forward(x.data, rows: x.count / x.shape.last!, n: x.shape.last!)
        assertClose(x.values, ops["softmax.y"].values, atol: 1e-6, rtol: 0, "softmax")
    }

    func testSoftmaxLongRowsAndExtremes() {
        // Rows longer than one SIMD vector with a tail, huge and tiny logits: compare with a Double reference.
        let n = 197, rows = 3
        var values = [Float]()
        var rng = SeededGenerator(seed: 7)
        for r in 0..<rows { for j in 0..<n { values.append(r == 2 ? (j == 5 ? 80 : -80) : rng.normal() * 10) } }
        let x = Tensor(shape: [rows, n], values: values)
        Softmax.forward(x.data, rows: rows, n: n)
        for r in 0..<rows {
            let row = values[(r * n)..<((r + 1) * n)].map(Double.init)
            let m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<n { XCTAssertEqual(Double(x[r * n + j]), e[j] / s, accuracy: 1e-6) }
        }
    }

    /// Both activations' forward and backward against autograd: GELU from the ops fixture (torch), QuickGELU from
    /// timm's module (Fixtures/families/quick_gelu.safetensors); accumulate adds to what is there.
    func testActivationsForwardAndBackward() throws {
        let quick = try Fixture("families/quick_gelu.safetensors")
        for (act, f, prefix) in [(Activation.gelu, ops!, "gelu."), (Activation.quickGELU, quick, "")] {
            let x = f["\(prefix)x"], dy = f["\(prefix)dy"]
            let y = Tensor(zeros: x.shape), dx = Tensor(zeros: x.shape)
            act.forward(x.data, y.data, count: x.count)
            assertClose(y.values, f["\(prefix)y"].values, atol: 2e-7, rtol: 1e-6, "\(act) forward")
            act.backward(dx: dx.data, dy: dy.data, x: x.data, count: x.count)
            assertClose(dx.values, f["\(prefix)dx"].values, atol: 1e-6, rtol: 1e-5, "\(act) backward")
            act.backward(dx: dx.data, dy: dy.data, x: x.data, count: x.count, accumulate: true)
            assertClose(dx.values, f["\(prefix)dx"].values.map { 2 * $0 }, atol: 2e-6, rtol: 1e-5, "\(act) backward accumulated")
        }
        // oneDNN's fused QuickGELU (swish post-op, α = 1.702) inside a Linear agrees with the kernel.
        let lin = Linear(inFeatures: 4, outFeatures: 16)
        var rng = SeededGenerator(seed: 3)
        lin.weight.fillTruncatedNormal(std: 1, using: &rng)
        let xin = Tensor(shape: [3, 4], values: (0..<12).map { Float($0) / 3 - 2 })
        let fused = Tensor(zeros: [3, 16]), plain = Tensor(zeros: [3, 16])
        lin.forward(xin.data, rows: 3, into: fused.data, activation: .quickGELU)
        lin.forward(xin.data, rows: 3, into: plain.data)
        Activation.quickGELU.forward(plain.data, plain.data, count: plain.count)
        assertClose(fused.values, plain.values, atol: 1e-6, rtol: 1e-5, "fused QuickGELU")
    }

    func testGELU() {
        let x = ops["gelu.x"]
        let y = Tensor(zeros: x.shape)
        Activation.gelu.forward(x.data, y.data, count: x.count)
        assertClose(y.values, ops["gelu.y"].values, atol: 2e-7, rtol: 1e-6, "gelu")
        // Beyond the fixture: a dense sweep against erf from libm.
        let xs = (0..<2001).map { Float($0 - 1000) / 100 }
        let t = Tensor(shape: [xs.count], values: xs)
        Activation.gelu.forward(t.data, t.data, count: xs.count)
        for (i, v) in xs.enumerated() {
            let ref = 0.5 * Double(v) * (1 + Foundation.erf(Double(v) / 2.0.squareRoot()))
            XCTAssertEqual(Double(t[i]), ref, accuracy: 1e-6 + 1e-6 * abs(ref), "gelu(\(v))")
        }
    }

    func testLinear() {
        let x = ops["linear.x"], w = ops["linear.weight"]
        let lin = Linear(inFeatures: w.shape[1], outFeatures: w.shape[0])
        lin.weight.data.update(from: w.data, count: w.count)
        lin.bias!.data.update(from: ops["linear.bias"].data, count: w.shape[0])
        let rows = x.count / w.shape[1]
        let y = Tensor(zeros: [rows, w.shape[0]])
        lin.forward(x.data, rows: rows, into: y.data)
        assertClose(y.values, ops["linear.y"].values, atol: 1e-5, rtol: 1e-6, "linear")
        // Accumulating form adds onto what is there.
        lin.forward(x.data, rows: rows, into: y.data, accumulate: true)
        assertClose(y.values, ops["linear.y"].values.map { 2 * $0 }, atol: 2e-5, rtol: 1e-6, "linear accumulate")
    }

    func testAttention() {
        let x = ops["attention.x"]
        let b = x.shape[0], n = x.shape[1], c = x.shape[2], heads = ops.int("attention.heads")
        let attn = Attention(dim: c, heads: heads)
        copy(ops["attention.param.qkv.weight"], attn.qkv.weight); copy(ops["attention.param.qkv.bias"], attn.qkv.bias!)
        copy(ops["attention.param.proj.weight"], attn.proj.weight); copy(ops["attention.param.proj.bias"], attn.proj.bias!)
        let qkv = Tensor(zeros: [b, n, 3 * c]), probs = Tensor(zeros: [b, heads, n, n]), ctx = Tensor(zeros: [b, n, c])
        let y = Tensor(zeros: [b, n, c])
        attn.qkv.forward(x.data, rows: b * n, into: qkv.data)
        attn.probabilities(qkv: MatrixInput(qkv.data), batch: b, tokens: n, into: probs.data)
        attn.mix(probs: MatrixInput(probs.data), qkv: MatrixInput(qkv.data), batch: b, tokens: n, into: ctx.data)
        attn.proj.forward(ctx.data, rows: b * n, into: y.data, accumulate: true)
        assertClose(probs.values, ops["attention.probs"].values, atol: 1e-6, rtol: 0, "attention probs")
        assertClose(y.values, ops["attention.y"].values, atol: 1e-5, rtol: 1e-5, "attention out")
    }

    func testPatchEmbed() {
        let x = ops["patch_embed.x"], w = ops["patch_embed.weight"]
        let p = w.shape[2], c = w.shape[0]
        let pe = PatchEmbed(patch: p, dim: c)
        copy(w, pe.proj.weight); copy(ops["patch_embed.bias"], pe.proj.bias!)
        let (b, h, wd) = (x.shape[0], x.shape[2], x.shape[3])
        let y = Tensor(zeros: [b, (h / p) * (wd / p), c])
        let cols = Tensor(zeros: [b * (h / p) * (wd / p), 3 * p * p])
        pe.forward(x.data, batch: b, height: h, width: wd, cols: cols.data, into: y.data)
        assertClose(y.values, ops["patch_embed.y"].values, atol: 1e-5, rtol: 1e-5, "patch_embed")
    }

    func testPositionEmbeddingResample() {
        let pos = ops["pos_resample.posemb"]
        for target in ops.meta("pos_resample.targets").split(separator: ",") {
            let hw = target.split(separator: "x").map { Int($0)! }
            for antialias in [false, true] {
                let y = PositionEmbedding.resample(pos, prefixTokens: 1, from: (4, 4), to: (hw[0], hw[1]), antialias: antialias)
                let ref = ops["pos_resample.to_\(target).\(antialias ? "y_antialias" : "y")"]
                XCTAssertEqual(y.shape, ref.shape)
                assertClose(y.values, ref.values, atol: 1e-5, rtol: 1e-5, "pos_embed → \(target) antialias \(antialias)")
            }
        }
    }
}

/// Copies a fixture tensor into a parameter of the same element count.
func copy(_ src: Tensor, _ dst: Tensor) {
    precondition(src.count == dst.count, "\(src.shape) into \(dst.shape)")
    dst.data.update(from: src.data, count: src.count)
}

import Foundation
