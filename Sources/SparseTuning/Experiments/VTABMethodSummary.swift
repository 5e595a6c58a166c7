// VTABMethodSummary: one method's VTAB-1K figures across tasks — per-group means, the two overall means of the
// literature (mean of group means, as NOAH/VPT/SPT; mean of the 19 tasks, as SSF) and the averaged cost figures.

/// A mean over the tasks that were run, with how many of how many contributed.
public struct PartialMean: Sendable, Equatable {
    /// The mean (nil when nothing contributed).
    public var value: Double?
    /// Tasks (or groups) that contributed, and how many there are.
    public var count: Int
    public var total: Int
    /// True when every task (or group) contributed.
    public var isComplete: Bool { count == total && value != nil }

    /// The mean of `values` out of `total` expected ones.
    public init(_ values: [Double], total: Int) {
        value = values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        count = values.count
        self.total = total
    }
}

/// The VTAB-1K figures of one method.
public struct VTABMethodSummary: Sendable {
    /// The method's name (a ``TuningMethod`` raw value).
    public let method: String
    /// Its results by canonical task name.
    public let results: [String: VTABRunResult]

    /// Summarises `results` (all of one method).
    public init(method: String, results: [VTABRunResult]) {
        self.method = method
        self.results = Dictionary(results.map { ($0.task, $0) }, uniquingKeysWith: { _, later in later })
    }

    /// Top-1 accuracy of `task` in percent, or nil when it was not run.
    public func top1Percent(_ task: String) -> Double? { results[task].map { 100 * $0.top1 } }

    /// The mean top-1 (%) of a group's tasks that were run.
    public func groupMean(_ group: VTABGroup) -> PartialMean {
        let tasks = VTABDataset.tasks.filter { $0.group == group }
        return PartialMean(tasks.compactMap { top1Percent($0.name) }, total: tasks.count)
    }

    /// The mean of the three group means (NOAH, VPT, SPT convention), over the groups with at least one task run.
    /// Its `count`/`total` count tasks, so it is complete only when all 19 were run.
    public var meanOfGroupMeans: PartialMean {
        var m = PartialMean(VTABGroup.allCases.compactMap { groupMean($0).value }, total: VTABGroup.allCases.count)
        let tasks = meanOfTasks
        m.count = tasks.count
        m.total = tasks.total
        return m
    }

    /// The mean over all tasks run (SSF convention: the mean of the 19 tasks).
    public var meanOfTasks: PartialMean {
        PartialMean(VTABDataset.tasks.compactMap { top1Percent($0.name) }, total: VTABDataset.tasks.count)
    }

    /// Trainable parameters without the head, in millions, averaged over the tasks run.
    public var parametersMillions: Double? { average { Double($0.trainableParametersWithoutHead) / 1e6 } }
    /// Trainable parameters with the head, in millions, averaged over the tasks run.
    public var parametersWithHeadMillions: Double? { average { Double($0.trainableParameters) / 1e6 } }
    /// fvcore GFLOPs per image, averaged over the tasks run.
    public var gflops: Double? { average(\.gflops) }
    /// Measured inference images/s, averaged over the tasks where it was measured.
    public var imagesPerSecond: Double? {
        let measured = results.values.map(\.imagesPerSecond).filter { $0 > 0 }
        return measured.isEmpty ? nil : measured.reduce(0, +) / Double(measured.count)
    }

    private func average(_ f: (VTABRunResult) -> Double) -> Double? {
        results.isEmpty ? nil : results.values.map(f).reduce(0, +) / Double(results.count)
    }
}
