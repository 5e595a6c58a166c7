// `sparse-tune eval`: top-1, top-5, per-class accuracy and a confusion-matrix CSV of a backbone + task file.
import ArgumentParser
import Foundation
import SparseTuning

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a backbone + task file on a dataset split.")

    @Option(name: .customLong("weights"), help: "Backbone, then task file (repeat to layer files).")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .customLong("batch"), help: "Batch size.") var batchSize: Int = 64
    @Option(help: "Write the confusion matrix (rows: true class, columns: predicted) as CSV here.") var confusion: String?
    @Option(help: "Write each image's prediction as CSV here (index, image, label, predicted, in dataset order).") var predictions: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard !weights.isEmpty else { throw SparseTuningError("eval needs --weights BACKBONE --weights TASK.safetensors") }
        guard batchSize > 0 else { throw SparseTuningError("--batch must be positive (got \(batchSize))") }
        let format = try dataOptions.parsedFormat()
        guard let source = try dataOptions.evalSource(format) else {
            throw SparseTuningError("no evaluation split in \(dataOptions.data); give --eval-split")
        }
        let built = try buildModel(model, weights: weights)
        if built.task == nil { note("note: no task file among --weights; evaluating the checkpoint's own head") }
        let result = try Evaluator.evaluate(built.model, source: source, batchSize: batchSize,
                                            augmentation: .eval(size: built.model.config.imageSize,
                                                                mode: try dataOptions.resizeMode(format, task: built.task, file: built.taskFile)),
                                            normalization: try dataOptions.normalization(task: built.task, file: built.taskFile),
                                            workers: dataOptions.workers, skipBadImages: dataOptions.skipBadImages)
        let names = built.classNames ?? source.classNames
        if let predictions { try result.writePredictionsCSV(to: predictions, source: source) }
        let perClass = result.confusion.perClassAccuracy
        if json {
            try printJSON(EvalJSON(result, classNames: names))
            return
        }
        print(String(format: "%d images: top-1 %.2f%%, top-5 %.2f%%, loss %.4f, %.1f img/s", result.samples,
                     100 * result.top1, 100 * result.top5, result.loss, result.imagesPerSecond)
              + (result.skipped > 0 ? ", \(result.skipped) unreadable images skipped" : ""))
        print("per-class accuracy:")
        for (i, a) in perClass.enumerated() {
            let name = i < names.count ? names[i] : "\(i)"
            print("  \(name.padding(toLength: max(12, name.count), withPad: " ", startingAt: 0))  "
                  + (a.map { String(format: "%6.2f%%", 100 * $0) } ?? "   n/a") + "  (\(result.confusion.support(i)) images)")
        }
        if let confusion { print("confusion matrix written to \(confusion)") }
    }
}

