// A task's tensors (what a method trained, plus BatchNorm buffers), the configuration stored with them, and
// loading layered checkpoints (a backbone, then a task file) into a TunedViT with every name checked.

/// The configuration a task file carries in `__metadata__["sparse_tuning.config"]` (JSON): the backbone shape,
/// the method, and what evaluation needs (class names, normalisation).
public struct TaskConfig: Codable, Sendable, Equatable {
    public var vit: ViTConfig
    public var tuning: TuningConfig
    public var classNames: [String]?
    /// "inception" or "imagenet".
    public var normalization: String?

    public init(vit: ViTConfig, tuning: TuningConfig, classNames: [String]? = nil, normalization: String? = nil) {
        self.vit = vit
        self.tuning = tuning
        self.classNames = classNames
        self.normalization = normalization
    }

    /// The metadata key holding the JSON.
    public static let metadataKey = "sparse_tuning.config"

    /// Parses the JSON of a task file's metadata; `file` names it in errors.
    public static func decode(_ json: String, file: String) throws -> TaskConfig {
        do {
            return try JSONDecoder().decode(TaskConfig.self, from: Data(json.utf8))
        } catch {
            throw SparseTuningError("\(file): metadata '\(metadataKey)' is not a valid task configuration (\(error))")
        }
    }

    /// The JSON text (sorted keys).
    public func encoded() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }
}

extension TunedViT {
    /// The tensors a task file stores: the trainable ones (timm shapes) and the BatchNorm head's buffers.
    public func taskStateDict() -> [(name: String, tensor: Tensor)] {
        let shapes = Dictionary(uniqueKeysWithValues: backbone.parameters().map { ($0.name, $0.shape) })
        var out: [(name: String, tensor: Tensor)] = trainable.map { p in
            guard let shape = shapes[p.name], shape != p.value.shape else { return (p.name, p.value) }
            let t = p.value.copy()
            t.reshape(shape)
            return (p.name, t)
        }
        if let bnHead { out += bnHead.buffers }
        return out
    }

    /// Copies tensors into the model: method tensors and BatchNorm buffers by their docs/METHOD.md §4 names, everything
    /// else into the backbone (strict: unknown, missing or mis-shaped tensors are errors naming them).
    ///
    /// - Parameters:
    ///   - sources: the file each tensor came from, for error messages.
    ///   - freshHead: ignore any head in `tensors` (training a new task from a backbone).
    ///   - requireModules: the method's own tensors must be present (loading a task file); otherwise missing ones
    ///     keep their fresh initialisation (a backbone alone).
    ///   - headSeed: seeds the fresh head's initialisation.
    @discardableResult
    public func load(_ tensors: [String: Tensor], sources: [String: String] = [:], freshHead: Bool = false,
                     requireModules: Bool = false, headSeed: UInt64 = 0) throws -> LoadReport {
        var rest = tensors
        func origin(_ n: String) -> String { sources[n].map { " in \($0)" } ?? "" }
        if freshHead {
            for k in ["head.weight", "head.bias", "head.1.weight", "head.1.bias"] { rest[k] = nil }
        }
        let backboneNames = Set(backbone.parameters().map(\.name))
        var own: [(name: String, tensor: Tensor)] = trainable
            .filter { !backboneNames.contains($0.name) && !$0.name.hasPrefix("head") }
            .map { ($0.name, $0.value) }
        if let bnHead { own += bnHead.buffers }
        for (name, dst) in own {
            guard let t = rest.removeValue(forKey: name) else {
                if requireModules && !name.hasPrefix("head.0.") {
                    throw SparseTuningError("missing tensor '\(name)' (expected shape \(dst.shape)) for method \(tuning.method.rawValue)")
                }
                continue
            }
            guard t.count == dst.count, t.shape == dst.shape || (t.shape.isEmpty && dst.count == 1) else {
                throw SparseTuningError("tensor '\(name)'\(origin(name)) has shape \(t.shape), expected \(dst.shape)")
            }
            dst.data.update(from: t.data, count: t.count)
        }
        if bnHead != nil {
            // The Linear after the BatchNorm is the model's head; a plain `head.*` from a backbone file is ignored.
            rest["head.weight"] = rest.removeValue(forKey: "head.1.weight")
            rest["head.bias"] = rest.removeValue(forKey: "head.1.bias")
        }
        let report = try backbone.load(rest, sources: sources, ignoreHead: freshHead)
        if freshHead, let head = backbone.head {
            // A new head: trunc-normal std 0.01 weights and zero bias, as the released code initialises it.
            var rng = SeededGenerator(seed: headSeed)
            head.weight.fillTruncatedNormal(std: 0.01, using: &rng)
            head.bias!.data.update(repeating: 0, count: head.bias!.count)
        }
        parametersUpdated()
        return report
    }

}

import Foundation
