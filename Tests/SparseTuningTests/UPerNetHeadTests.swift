// The UPerNet head (Feature2Pyramid neck + UPerHead) against a PyTorch reference with mmseg's module names
// (Fixtures/seg/upernet.safetensors, from scripts/fixtures/seg_head_fixtures.py): names, logits with training and
// inference BatchNorm, running statistics, and gradients of the inputs and of every parameter.
import XCTest
import Foundation
@testable import SparseTuning

final class UPerNetHeadTests: XCTestCase {
    var f: Fixture!
    override func setUpWithError() throws { f = try Fixture("seg/upernet.safetensors") }

    private func config() throws -> [String: Int] {
        try JSONSerialization.jsonObject(with: Data(f.meta("config").utf8)) as! [String: Int]
    }

    /// A head with the fixture's weights and running statistics.
    private func loadedHead() throws -> UPerNetHead {
        let c = try config()
        let head = UPerNetHead(inChannels: c["C"]!, channels: c["ch"]!, classes: c["K"]!, seed: 5)
        for p in head.parameters() {
            let t = f["state." + p.name]
            XCTAssertEqual(p.value.shape, t.shape, p.name)
            p.value.data.update(from: t.data, count: t.count)
        }
        for (name, t) in head.buffers() {
            let r = f["state." + name]
            XCTAssertEqual(t.shape, r.shape, name)
            t.data.update(from: r.data, count: r.count)
        }
        return head
    }

    func testNamesMatchMMSegmentation() throws {
        let c = try config()
        let head = UPerNetHead(inChannels: c["C"]!, channels: c["ch"]!, classes: c["K"]!, seed: 5)
        let torchParams = try JSONSerialization.jsonObject(with: Data(f.meta("parameters").utf8)) as! [String]
        XCTAssertEqual(head.parameters().map(\.name), torchParams, "parameter names and order")
        let state = Set(f.tensors.keys.filter { $0.hasPrefix("state.") }.map { String($0.dropFirst(6)) })
        let ours = Set(head.parameters().map(\.name) + head.buffers().map(\.name))
        XCTAssertEqual(ours, state, "parameters + buffers = torch state_dict")
        XCTAssertTrue(head.buffers().allSatisfy { $0.name.hasSuffix("running_mean") || $0.name.hasSuffix("running_var") })
    }

    func testForwardAndBackwardAgainstTorch() throws {
        let xs = (0..<4).map { f["x.\($0)"] }
        for mode in ["train", "eval"] {
            let head = try loadedHead()
            let (logits, tape) = try head.forward(xs, training: mode == "train")
            XCTAssertEqual(logits.shape, f["\(mode).logits"].shape)
            assertClose(logits.values, f["\(mode).logits"].values, atol: 1e-5, rtol: 1e-4, "\(mode) logits")
            if mode == "train" {
                for (name, t) in head.buffers() {
                    assertClose(t.values, f["train.running." + name].values, atol: 1e-6, rtol: 1e-5, "running \(name)")
                }
            }
            let dx = head.backward(f["dy"], tape: tape)
            XCTAssertEqual(dx.count, 4)
            for i in 0..<4 {
                assertClose(dx[i].values, f["\(mode).dx.\(i)"].values, atol: 1e-5, rtol: 1e-4, "\(mode) dx.\(i)")
            }
            for p in head.parameters() {
                assertClose(p.grad.values, f["\(mode).grad.\(p.name)"].values, atol: 1e-5, rtol: 1e-4, "\(mode) grad \(p.name)")
            }
        }
    }

    func testShapesFlopsAndErrors() throws {
        let head = UPerNetHead(inChannels: 8, channels: 8, classes: 3, seed: 1)
        XCTAssertThrowsError(try head.forward([Tensor(zeros: [1, 8, 4, 4])], training: false))
        XCTAssertThrowsError(try head.forward((0..<4).map { _ in Tensor(zeros: [1, 8, 5, 5]) }, training: false))
        XCTAssertThrowsError(try head.forward((0..<4).map { _ in Tensor(zeros: [1, 4, 4, 4]) }, training: false))
        // FLOPs by hand for C = ch = 8, K = 3, h = w = 4 (levels 16, 8, 4, 2).
        let c = 8, ch = 8, k = 3
        let neck = c * c * 4 * (4 * 4) + c * c * 4 * (8 * 8) + c * c * 4 * (4 * 4)
        let psp = [1, 2, 3, 6].reduce(0) { $0 + c * ch * $1 * $1 }
        let bottleneck = (c + 4 * ch) * ch * 9 * 4
        let lateral = [256, 64, 16].reduce(0) { $0 + c * ch * $1 }
        let fpn = [256, 64, 16].reduce(0) { $0 + ch * ch * 9 * $1 }
        let fuse = 4 * ch * ch * 9 * 256 + ch * k * 256
        XCTAssertEqual(head.flops(h: 4, w: 4), neck + psp + bottleneck + lateral + fpn + fuse)
    }
}
