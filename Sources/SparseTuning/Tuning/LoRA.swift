// LoRA on a fused qkv Linear (docs/METHOD.md §4): qkv(h) += (h·Aᵀ)·Bᵀ with A (r, C) Kaiming-uniform and B (3C, r) zero;
// optionally q and v only (B's k rows held at zero). Mergeable into the qkv weight for export.

final class LoRA: Sendable {
    let block: Int
    let dim: Int
    let rank: Int
    let qvOnly: Bool
    /// (r, C)
    let a: Tensor
    /// (3C, r)
    let b: Tensor

    init(block: Int, dim: Int, rank: Int, qvOnly: Bool, rng: inout SeededGenerator) {
        self.block = block
        self.dim = dim
        self.rank = rank
        self.qvOnly = qvOnly
        a = Tensor(zeros: [rank, dim])
        b = Tensor(zeros: [3 * dim, rank])
        a.fillKaimingUniform(fanIn: dim, using: &rng)
    }

    /// `blocks.{l}.attn.qkv.lora_A`, `blocks.{l}.attn.qkv.lora_B`.
    func parameters() -> [Parameter] {
        [Parameter(name: "blocks.\(block).attn.qkv.lora_A", value: a, weightDecay: true),
         Parameter(name: "blocks.\(block).attn.qkv.lora_B", value: b, weightDecay: true)]
    }

    /// `qkv (rows, 3C) += (h·Aᵀ)·Bᵀ`; writes t = h·Aᵀ (rows, r) for the backward pass.
    func forward(_ h: UnsafePointer<Float>, rows: Int, qkv: UnsafeMutablePointer<Float>, t: UnsafeMutablePointer<Float>) {
        maskK(b.data)
        Matmul.abT(h, a.data, t, m: rows, n: rank, k: dim)
        Matmul.abT(t, b.data, qkv, m: rows, n: 3 * dim, k: rank, accumulate: true)
    }

    /// Gradients of A and B into `grads` and `dh += ∂/∂h`, from d(qkv) (rows, 3C).
    func backward(_ dqkv: UnsafePointer<Float>, h: UnsafePointer<Float>, t: Tensor, rows: Int, grads: [Parameter],
                  dh: UnsafeMutablePointer<Float>, arena: Arena) {
        Matmul.aTb(dqkv, t.data, grads[1].grad.data, m: 3 * dim, n: rank, k: rows, accumulate: true)
        maskK(grads[1].grad.data)
        let dt = arena.tensor([rows, rank])  // (rows, r)
        Matmul.ab(dqkv, b.data, dt.data, m: rows, n: rank, k: 3 * dim)
        Matmul.aTb(dt.data, h, grads[0].grad.data, m: rank, n: dim, k: rows, accumulate: true)
        Matmul.ab(dt.data, a.data, dh, m: rows, n: dim, k: rank, accumulate: true)
    }

    /// The merged weight update B·A (3C, C) to add to `attn.qkv.weight` when exporting.
    func delta() -> Tensor {
        maskK(b.data)
        let d = Tensor(zeros: [3 * dim, dim])
        Matmul.ab(b.data, a.data, d.data, m: 3 * dim, n: dim, k: rank)
        return d
    }

    /// q,v-only LoRA: the k rows (C…2C) of B (or its gradient) stay zero.
    private func maskK(_ p: UnsafeMutablePointer<Float>) {
        if qvOnly { (p + dim * rank).update(repeating: 0, count: dim * rank) }
    }
}
