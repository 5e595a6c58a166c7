// VTABReport: the VTAB-1K result tables — results.csv (one row per task and method) and results.md (the papers'
// layout: methods as rows, the 19 tasks grouped Natural/Specialized/Structured, group means, both overall means
// labelled, trainable parameters, GFLOPs, images/s; "–" for tasks not run).
import Foundation

/// Tables of VTAB-1K results, built from every `result.json` of an experiment folder.
public struct VTABReport: Sendable {
    /// The results, any order.
    public let results: [VTABRunResult]

    /// Methods in the order of the papers' tables (baselines first, Sparse-Tuning last); others follow by name.
    public static let methodOrder: [TuningMethod] = [.full, .linear, .vptDeep, .adapter, .lora, .adaptformer, .evit,
                                                     .sparseTuningOfficial, .sparseTuning]

    /// Column label of the mean of the three group means.
    public static let groupMeanLabel = "Mean (group avg., NOAH/VPT/SPT)"
    /// Column label of the mean of all 19 tasks.
    public static let taskMeanLabel = "Mean (19 tasks, SSF)"
    /// Shown for a task that was not run.
    public static let missing = "–"

    /// A report of `results`.
    public init(results: [VTABRunResult]) { self.results = results }

    /// Reads every `<dir>/<method>/<task>/result.json` under `directory` (an experiment's output folder).
    /// - Throws: ``SparseTuningError`` naming a result file that cannot be read.
    public static func collect(outputDirectory directory: String) throws -> VTABReport {
        var found: [VTABRunResult] = []
        for method in DatasetFiles.directoryEntries(directory).sorted() {
            let methodDir = (directory as NSString).appendingPathComponent(method)
            guard DatasetFiles.isDirectory(methodDir) else { continue }
            for task in DatasetFiles.directoryEntries(methodDir).sorted() {
                let file = ((methodDir as NSString).appendingPathComponent(task) as NSString).appendingPathComponent("result.json")
                if FileManager.default.fileExists(atPath: file) { found.append(try VTABRunResult.load(file)) }
            }
        }
        return VTABReport(results: found)
    }

    /// The methods present, in table order.
    public var methods: [String] {
        let present = Set(results.map(\.method))
        let known = Self.methodOrder.map(\.rawValue).filter(present.contains)
        return known + present.subtracting(known).sorted()
    }

    /// One summary per method present, in table order.
    public var summaries: [VTABMethodSummary] {
        methods.map { m in VTABMethodSummary(method: m, results: results.filter { $0.method == m }) }
    }

    // MARK: CSV

    /// The CSV header.
    public static let csvHeader = "task,group,method,top1,top5,trainable_params,trainable_params_without_head,gflops,images_per_s"

    /// `results.csv`: one row per (task, method) run, methods in table order and tasks in docs/METHOD.md §8 order.
    /// Accuracies are top-1/top-5 in percent; GFLOPs follow fvcore (1 multiply-accumulate = 1 FLOP); images/s is the
    /// measured inference throughput (0 when not measured).
    public func csv() -> String {
        var lines = [Self.csvHeader]
        for summary in summaries {
            for task in Self.orderedTasks(Array(summary.results.keys)) {
                let r = summary.results[task]!
                lines.append([r.task, r.group, r.method, String(format: "%.2f", 100 * r.top1), String(format: "%.2f", 100 * r.top5),
                              String(r.trainableParameters), String(r.trainableParametersWithoutHead),
                              String(format: "%.4f", r.gflops), String(format: "%.2f", r.imagesPerSecond)].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// docs/METHOD.md §8 order for known tasks, then any others by name.
    static func orderedTasks(_ names: [String]) -> [String] {
        let known = VTABDataset.tasks.map(\.name).filter(names.contains)
        return known + Set(names).subtracting(known).sorted()
    }

    // MARK: Markdown

    /// `results.md`: the papers' VTAB-1K table. The header row names the groups over their tasks' columns; the
    /// first row names the tasks. Accuracies are top-1 (%) with one decimal; a mean over fewer tasks than it
    /// should cover is marked `*`; a task not run is "–".
    public func markdown(title: String = "VTAB-1K results") -> String {
        let tasksByGroup = VTABGroup.allCases.map { g in VTABDataset.tasks.filter { $0.group == g } }
        let trailing = [Self.groupMeanLabel, Self.taskMeanLabel, "Params (M)", "GFLOPs", "images/s"]

        var header = ["Method"]
        for (g, tasks) in zip(VTABGroup.allCases, tasksByGroup) {
            header += [g.rawValue] + Array(repeating: "", count: tasks.count - 1)
        }
        header += ["Group means", "", ""] + trailing
        var names = [""] + VTABDataset.tasks.map(\.name) + VTABGroup.allCases.map(\.rawValue)
        names += Array(repeating: "", count: trailing.count)
        var align = ["---"] + Array(repeating: "---:", count: header.count - 1)
        align[0] = ":---"

        func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? Self.missing }
        func mean(_ m: PartialMean) -> String {
            guard let v = m.value else { return Self.missing }
            return String(format: "%.1f", v) + (m.isComplete ? "" : "*")
        }

        var lines = ["# \(title)", "",
                     "Top-1 accuracy (%) on `test` after training on `train800val200` (docs/METHOD.md §8), "
                         + "ViT backbone as given.", "",
                     row(header), row(align), row(names)]
        var anyPartial = false
        let batches = Set(results.map(\.benchmarkBatch).filter { $0 > 0 }).sorted()
        for s in summaries {
            var cells = [s.method]
            cells += VTABDataset.tasks.map { pct(s.top1Percent($0.name)) }
            let groups = VTABGroup.allCases.map(s.groupMean)
            cells += groups.map(mean)
            cells += [mean(s.meanOfGroupMeans), mean(s.meanOfTasks)]
            cells += [s.parametersMillions.map { String(format: "%.2f", $0) } ?? Self.missing,
                      s.gflops.map { String(format: "%.2f", $0) } ?? Self.missing,
                      s.imagesPerSecond.map { String(format: "%.1f", $0) } ?? Self.missing]
            anyPartial = anyPartial || !s.meanOfTasks.isComplete
            lines.append(row(cells))
        }
        lines += ["",
                  "- \(Self.missing): task not run.",
                  "- \(Self.groupMeanLabel): the mean of the three group means (the convention of NOAH, VPT and SPT); "
                      + "\(Self.taskMeanLabel): the mean of all 19 tasks (the convention of SSF).",
                  "- Params (M): trainable parameters without the classifier head, in millions, averaged over the tasks "
                      + "run (results.csv also has them with the head).",
                  "- GFLOPs: per image, fvcore's convention (one multiply-accumulate = one FLOP), averaged over the tasks run.",
                  "- images/s: measured inference throughput on this machine"
                      + (batches.isEmpty ? "" : " (batch \(batches.map(String.init).joined(separator: "/")))")
                      + ", averaged over the tasks run."]
        if anyPartial {
            lines.append("- *: a mean over only the tasks run so far (a complete table covers all 19).")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `results.csv` and `results.md` into `directory` (atomically).
    public func write(to directory: String) throws {
        for (name, text) in [("results.csv", csv()), ("results.md", markdown())] {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                try AtomicFileWriter.write(text, to: path)
            } catch {
                throw SparseTuningError("cannot write '\(path)': \(error.localizedDescription)")
            }
        }
    }
}
