// Fuzz target: timm's hub config.json (TimmConfigFile.parse), the architecture it states, and its comparison with
// the tensor shapes of a ViT of that architecture (ViTConfig.inferred).
import Foundation
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? TimmConfigFile.parse(Data(bytes: data, count: size), path: "config.json"),
          let stated = try? file.statedConfig(), (try? stated.validate()) != nil,
          stated.dim <= 4096, stated.depth <= 64, stated.registers <= 16 else { return 0 }
    // Shapes of a small model of the stated layout: the comparison and the pos_embed reading run.
    let c = stated.dim, g = stated.grid
    var shapes: [String: [Int]] = ["patch_embed.proj.weight": [c, 3, stated.patch, stated.patch],
                                   "pos_embed": [1, stated.posEmbedPrefix + g * g, c], "cls_token": [1, 1, c]]
    for l in 0..<stated.depth {
        shapes["blocks.\(l).norm1.weight"] = [c]
        shapes["blocks.\(l).mlp.fc1.weight"] = [stated.mlpDim, c]
        if stated.layerScale { shapes["blocks.\(l).ls1.gamma"] = [c] }
    }
    if stated.distilled { shapes["dist_token"] = [1, 1, c] }
    if stated.registers > 0 { shapes["reg_token"] = [1, stated.registers, c] }
    if stated.preNorm { shapes["norm_pre.weight"] = [c] }
    if stated.patchBias { shapes["patch_embed.proj.bias"] = [c] }
    _ = try? ViTConfig.inferred(fromShapes: shapes, stated: (stated, file.path), source: "fuzz")
    return 0
}
