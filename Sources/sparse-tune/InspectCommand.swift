// `sparse-tune inspect`: the tensors (name, dtype, shape), metadata and parameter count of a checkpoint.
import ArgumentParser
import Foundation
import SparseTuning

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors, metadata and parameter count (.safetensors, Google .npz, or a Hugging Face ViT directory).")

    @Argument(help: "Checkpoint file.")
    var file: String
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let info = try Checkpoint.inspect(file)
        let timm = try timmArchitecture(info)
        if json {
            try printJSON(InspectJSON(file: file, info, timm: timm))
            return
        }
        print("\(file): \(info.format.rawValue), \(info.rows.count) tensors, \(info.totalParameters) parameters"
              + String(format: " (%.2f M)", Double(info.totalParameters) / 1e6))
        let width = min(info.rows.map(\.name.count).max() ?? 4, 70)
        for r in info.rows {
            print("  \(r.name.padding(toLength: max(width, r.name.count), withPad: " ", startingAt: 0))  \(r.dtype.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.shape)")
        }
        if !info.metadata.isEmpty {
            print("metadata:")
            for (k, v) in info.metadata.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
        }
        if let l = info.googleLayout {
            print("Google ViT layout: dim \(l.dim), depth \(l.depth), heads \(l.heads), mlp \(l.mlpDim), patch \(l.patchSize), "
                  + "\(l.tokens) position embeddings, head \(l.headClasses.map { "\($0) classes" } ?? "none")")
        }
        if let c = info.huggingFace {
            print("Hugging Face ViT (\(c.architecture ?? "no architectures"), \(c.file)): dim \(c.dim), depth \(c.depth), "
                  + "heads \(c.heads), mlp \(c.mlpDim), patch \(c.patchSize), image \(c.imageSize), eps \(c.eps), "
                  + "qkv_bias \(c.qkvBias), \(c.classNames.map { "\($0.count) class names" } ?? "no id2label")")
        }
        if let (a, stated) = timm {
            let c = a.config
            var layout: [String] = []
            if c.distilled { layout.append("distillation token") }
            if c.registers > 0 { layout.append("\(c.registers) register tokens") }
            if !c.posEmbedCoversPrefix { layout.append("pos_embed without prefix rows") }
            if c.layerScale { layout.append("layer scale") }
            if c.preNorm { layout.append("norm_pre") }
            if !c.patchBias { layout.append("no patch bias") }
            if let t = c.tubelet { layout.append("VideoMAE: \(c.frames) frames in tubelets of \(t), no class token, sinusoid positions") }
            let heads = a.notes.contains(where: { $0.hasPrefix(Self.headsUnknown) }) ? "?" : "\(c.heads)"
            print("timm ViT (\(stated ?? "tensor shapes only")): dim \(c.dim), depth \(c.depth), heads \(heads), mlp \(c.mlpDim), "
                  + "patch \(c.patch), image \(c.imageSize), eps \(c.eps), \(c.activation.rawValue), pool \(c.pool.rawValue), "
                  + "classes \(c.classes)" + (layout.isEmpty ? "" : "; " + layout.joined(separator: ", ")))
            for n in a.notes { print("  note: \(n)") }
        }
        if let p = info.mappingProblem { print("does not map to timm names: \(p)") }
    }

    /// The architecture of a timm-named safetensors file (with the config.json beside it), nil for other formats,
    /// task files and files that are not a whole ViT.
    private func timmArchitecture(_ info: CheckpointInspection) throws -> (InferredArchitecture, statedBy: String?)? {
        guard info.format == .safetensors, info.metadata["sparse_tuning.config"] == nil else { return nil }
        let shapes = CheckpointInspection.timmShapes(info.rows)
        guard shapes["patch_embed.proj.weight"] != nil else { return nil }
        let timm = try TimmConfigFile.beside(Checkpoint.resolve(file))
        var stated = try timm.map { (config: try $0.statedConfig(), source: $0.path) }
        if stated == nil { stated = try VideoMAE.statedConfig(besideWeights: Checkpoint.resolve(file)) }  // a VideoMAE config.json
        let width = shapes["patch_embed.proj.weight"]?.first ?? 0
        guard stated == nil, ViTConfig.conventionalHeads(forWidth: width) == nil else {
            return (try ViTConfig.inferred(fromShapes: shapes, stated: stated, source: file), stated?.source)
        }
        // The shapes say everything but the heads: show that, and what to give.
        var a = try ViTConfig.inferred(fromShapes: shapes, heads: 1, source: file)
        a.notes.insert("\(Self.headsUnknown): nothing states the attention heads of a width of \(width); give --heads", at: 0)
        return (a, nil)
    }

    /// The note that marks the heads as unknown.
    static let headsUnknown = "heads not stated"
}
