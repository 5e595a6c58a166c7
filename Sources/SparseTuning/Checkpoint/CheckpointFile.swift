// Loading a checkpoint of any format (timm/own .safetensors, Google ViT .npz, Hugging Face ViT) into timm-named tensors,
// and layering several checkpoint files (backbone, then task files) into one state dict.
import Foundation

/// The on-disk format of a checkpoint.
public enum CheckpointFormat: String, Sendable {
    /// safetensors with timm parameter names (timm hub weights, or the library's own task files), or Meta's DINOv2
    /// or VideoMAE's names (mapped on load).
    case safetensors
    /// A Google ViT `.npz` (zip of `.npy` arrays with JAX names), mapped to timm names on load.
    case googleNPZ
    /// A Hugging Face `transformers` ViT (`model.safetensors` with `vit.embeddings.…` names and a `config.json`
    /// beside it), mapped to timm names on load.
    case huggingFaceViT
}

/// A checkpoint read into memory.
public struct LoadedCheckpoint: Sendable {
    /// The file it was read from.
    public let path: String
    /// The file's format.
    public let format: CheckpointFormat
    /// fp32 tensors under timm parameter names (including `head.*` when the file has a head).
    public let tensors: [String: Tensor]
    /// The safetensors `__metadata__` (empty for `.npz`).
    public let metadata: [String: String]
    /// For a Hugging Face ViT: its config.json (architecture, eps, class names).
    public var huggingFace: HuggingFaceViTConfig? = nil
}

/// Reading checkpoints of any supported format.
public enum Checkpoint {
    /// The format of the file at `path`, decided by its first bytes: a zip signature means a Google `.npz`,
    /// anything else is read as safetensors (whose header is then validated). The extension only sharpens errors.
    /// - Throws: ``SparseTuningError`` naming the path if it is missing, a directory, unreadable, a `.npz` that
    ///   is not a zip archive, or a lone `.npy` array.
    public static func format(of path: String) throws -> CheckpointFormat {
        try format(of: MappedFile(path: path))
    }

    static func format(of file: MappedFile) throws -> CheckpointFormat {
        if NPZ.startsLikeZip(file.bytes) { return .googleNPZ }
        if file.path.lowercased().hasSuffix(".npz") {
            throw SparseTuningError("\(file.path): not a zip archive, so not a .npz checkpoint (expected 'PK\\x03\\x04')")
        }
        if file.bytes.starts(with: NPYHeader.magic) {
            throw SparseTuningError("\(file.path): is a single .npy array, not a checkpoint "
                + "(expected .safetensors or a Google ViT .npz)")
        }
        return .safetensors
    }

    /// Reads the checkpoint at `path` with timm parameter names; Google `.npz` arrays are mapped with
    /// ``GoogleViT/timmStateDict(_:file:)``.
    /// - Throws: ``SparseTuningError`` naming the file (and tensor or array) for any format violation.
    public static func load(_ path: String) throws -> LoadedCheckpoint {
        let path = try resolve(path)
        let file = try MappedFile(path: path)
        switch try format(of: file) {
        case .safetensors, .huggingFaceViT:
            let safetensors = try SafetensorsFile(file: file)
            if HuggingFaceViT.isHuggingFaceViT(safetensors.names) && !VideoMAE.isVideoMAE(safetensors.shapes) {
                let config = try HuggingFaceViTConfig.read(path: HuggingFaceViT.configPath(forWeights: path))
                let tensors = try HuggingFaceViT.timmStateDict(safetensors.loadAll(), config: config, file: path)
                return LoadedCheckpoint(path: path, format: .huggingFaceViT, tensors: tensors,
                                        metadata: safetensors.metadata, huggingFace: config)
            }
            return LoadedCheckpoint(path: path, format: .safetensors,
                                    tensors: try VideoMAE.timmStateDict(MetaDINOv2.timmStateDict(safetensors.loadAll(), file: path), file: path),
                                    metadata: safetensors.metadata)
        case .googleNPZ:
            var arrays: [String: Tensor] = [:]
            for (name, array) in try NPZ.read(path: path) {
                guard let tensor = array.tensor else {
                    throw SparseTuningError("\(path): array '\(name)' holds integers ('\(array.descr)'), "
                        + "expected floating-point weights")
                }
                arrays[name] = tensor
            }
            return LoadedCheckpoint(path: path, format: .googleNPZ,
                                    tensors: try GoogleViT.timmStateDict(arrays, file: path), metadata: [:])
        }
    }

    /// `path`, or `path/model.safetensors` when `path` is a directory (a Hugging Face model directory holding
    /// model.safetensors and config.json).
    /// - Throws: ``SparseTuningError`` for a directory without `model.safetensors`.
    public static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path
        }
        let weights = (path.hasSuffix("/") ? path : path + "/") + "model.safetensors"
        guard FileManager.default.fileExists(atPath: weights) else {
            throw SparseTuningError("\(path): is a directory without model.safetensors (a Hugging Face model directory "
                + "holds model.safetensors and config.json; sharded checkpoints are not supported)")
        }
        return weights
    }

    /// Loads several checkpoints and layers them in order, enforcing the layering rules (README, "Layering
    /// `--weights`"):
    ///
    /// 1. A tensor or metadata key in a later file replaces the same name from an earlier one (a backbone, then a
    ///    patched backbone, then a task file of adapters and head).
    /// 2. The last task file (a safetensors file with `sparse_tuning.config` metadata) is the task; an earlier one
    ///    serves as a backbone (e.g. the result of `train --method full`, a whole network), and a later task file
    ///    may replace its tensors.
    /// 3. No non-task file after a task file may replace a tensor that task file holds (its head, adapters, …):
    ///    that would silently pair the task's configuration and class names with another head.
    /// 4. A resume state is not a checkpoint to layer.
    ///
    /// - Returns: the merged tensors, the file each tensor came from, the merged metadata and the (last) task file.
    /// - Throws: ``SparseTuningError`` naming the files (and the tensor) that break a rule, or a missing or
    ///   malformed file.
    public static func loadLayered(_ paths: [String]) throws
        -> (tensors: [String: Tensor], sources: [String: String], metadata: [String: String], taskFile: String?) {
        var tensors: [String: Tensor] = [:]
        var sources: [String: String] = [:]
        var metadata: [String: String] = [:]
        var taskFile: String?
        var taskFiles = Set<String>()
        for path in paths {
            let checkpoint = try load(path)
            if checkpoint.metadata[TrainingCheckpoint.kindKey] == "resume" {
                throw SparseTuningError("\(checkpoint.path): is a resume state, not weights to layer (give the task file "
                    + "it sits next to)")
            }
            let isTask = checkpoint.metadata[TrainingCheckpoint.configKey] != nil
            if !isTask, !taskFiles.isEmpty,
               let clash = checkpoint.tensors.keys.filter({ sources[$0].map(taskFiles.contains) ?? false }).sorted().first {
                throw SparseTuningError("\(checkpoint.path) would replace tensor '\(clash)' of task file \(sources[clash]!) "
                    + "(a later file may not replace what a task trained; give the backbone before the task file)")
            }
            for (name, tensor) in checkpoint.tensors {
                tensors[name] = tensor
                sources[name] = checkpoint.path
            }
            metadata.merge(checkpoint.metadata) { _, later in later }
            if isTask { taskFile = checkpoint.path; taskFiles.insert(checkpoint.path) }
        }
        return (tensors, sources, metadata, taskFile)
    }
}
