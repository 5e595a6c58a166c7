// VTABRunResult: what one finished (task, method) run of the VTAB-1K protocol records in
// OUT/<method>/<task>/result.json — accuracy, cost figures and the exact settings used.
import Foundation

/// The outcome of training one method on one VTAB-1K task and testing it.
public struct VTABRunResult: Codable, Sendable, Equatable {
    /// Canonical task name.
    public var task: String
    /// The task's group (Natural, Specialized, Structured).
    public var group: String
    /// The method (``TuningMethod`` raw value).
    public var method: String
    /// Top-1 accuracy on `test`, a fraction in [0, 1].
    public var top1: Double
    /// Top-5 accuracy on `test` (top-k with k = classes when fewer than 5).
    public var top5: Double
    /// Images in `train800val200` and `test`.
    public var trainSamples: Int
    public var testSamples: Int
    /// Trainable values, head included, and without the head.
    public var trainableParameters: Int
    public var trainableParametersWithoutHead: Int
    /// fvcore GFLOPs (multiply-accumulates × 1e-9) per image of the tuned model.
    public var gflops: Double
    /// Measured inference images/s (0 when not measured) and the batch used.
    public var imagesPerSecond: Double
    public var benchmarkBatch: Int
    /// Training throughput and time of the run that finished the task (a resumed run counts only its own part).
    public var trainImagesPerSecond: Double
    public var trainSeconds: Double
    /// Mean training loss of the last epoch (0 when the run only evaluated a finished training).
    public var finalLoss: Double
    /// The training options and tuning configuration used.
    public var options: TrainingOptions
    public var tuning: TuningConfig
    /// The task file, relative to the run's folder.
    public var taskFile: String
    /// When the run finished (ISO 8601).
    public var finishedAt: String

    enum CodingKeys: String, CodingKey {
        case task, group, method, top1, top5, options, tuning, gflops
        case trainSamples = "train_samples", testSamples = "test_samples"
        case trainableParameters = "trainable_parameters"
        case trainableParametersWithoutHead = "trainable_parameters_without_head"
        case imagesPerSecond = "images_per_s", benchmarkBatch = "benchmark_batch"
        case trainImagesPerSecond = "train_images_per_s", trainSeconds = "train_seconds", finalLoss = "final_loss"
        case taskFile = "task_file", finishedAt = "finished_at"
    }

    /// The JSON text (sorted keys, indented).
    public func encoded() throws -> Data {
        try JSONCoding.encode(self, pretty: true)
    }

    /// Reads a `result.json`.
    /// - Throws: ``SparseTuningError`` naming `path` when it is unreadable or not a run result.
    public static func load(_ path: String) throws -> VTABRunResult {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SparseTuningError("cannot read run result '\(path)': \(error.localizedDescription)")
        }
        do {
            return try JSONCoding.decode(VTABRunResult.self, from: data, source: path)
        } catch {
            throw SparseTuningError("\(error) (not a valid run result; delete it to run that task again)")
        }
    }

    /// Writes the result atomically to `path`.
    public func write(to path: String) throws {
        do {
            try AtomicFileWriter.write([UInt8](encoded()), to: path)
        } catch {
            throw SparseTuningError("cannot write run result '\(path)': \(error.localizedDescription)")
        }
    }
}
