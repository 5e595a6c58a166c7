// A cheap fingerprint of a backbone's frozen tensors (docs/METHOD.md §7): a task file records the one it was trained
// on, and loading it on another backbone is an error naming both.

/// A 64-bit FNV-1a hash over the names, shapes and a fixed sample of the values of a set of fp32 tensors.
///
/// For every tensor, in name order: the UTF-8 name and a 0 byte, the rank and every dimension (u64
/// little-endian), the element count (u64 LE), then the raw fp32 bit patterns (u32 LE) of at most
/// ``samplesPerTensor`` elements at the evenly spaced indices `⌊k · n / s⌋`, k = 0…s−1 (every element when the
/// tensor has fewer), plus the last element. The cost is independent of the tensor sizes — at most
/// 4 · (``samplesPerTensor`` + 1) bytes read per tensor, ~600 KB for ViT-B's 150 tensors — so it is checked on
/// every load. Any substantial change of a tensor (another checkpoint, re-initialisation, fine-tuning, a shift or
/// scale) changes the sampled values and hence the hash; a change confined to elements between the samples is not
/// seen. fp32 values survive a save/load bit for bit, so the fingerprint is stable across files.
public enum BackboneFingerprint {
    /// Elements sampled per tensor.
    public static let samplesPerTensor = 1024
    /// The scheme, written before the hash (`fnv1a64-s1024:0123456789abcdef`).
    public static var scheme: String { "fnv1a64-s\(samplesPerTensor)" }

    /// The fingerprint of `tensors` (name, timm shape, data): the order given does not matter.
    public static func compute(_ tensors: [(name: String, shape: [Int], tensor: Tensor)]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func byte(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        func u64(_ v: UInt64) { for i in 0..<8 { byte(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        func u32(_ v: UInt32) { for i in 0..<4 { byte(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        for t in tensors.sorted(by: { $0.name < $1.name }) {
            for b in t.name.utf8 { byte(b) }
            byte(0)
            u64(UInt64(t.shape.count))
            for d in t.shape { u64(UInt64(d)) }
            let n = t.tensor.count
            u64(UInt64(n))
            let s = min(n, samplesPerTensor)
            for k in 0..<s { u32(t.tensor.data[k * n / s].bitPattern) }
            if n > 0 { u32(t.tensor.data[n - 1].bitPattern) }
        }
        let hex = String(h, radix: 16)
        return scheme + ":" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension TunedViT {
    /// The backbone's frozen tensors: every backbone parameter the method does not train, except the head.
    /// Empty for full fine-tuning (everything trains).
    public var frozenBackboneTensors: [(name: String, shape: [Int], tensor: Tensor)] {
        let trained = Set(trainable.map(\.name))
        return backbone.parameters().filter { !trained.contains($0.name) && !$0.name.hasPrefix("head.") }
    }

    /// ``BackboneFingerprint`` of ``frozenBackboneTensors``, or nil when nothing is frozen.
    public var backboneFingerprint: String? {
        let frozen = frozenBackboneTensors
        return frozen.isEmpty ? nil : BackboneFingerprint.compute(frozen)
    }
}
