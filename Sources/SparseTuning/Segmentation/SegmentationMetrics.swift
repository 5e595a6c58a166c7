// SegmentationMetrics: mmseg's IoUMetric — per-class intersection, union, predicted and labelled pixel areas summed
// over the whole set (ignore pixels excluded), then IoU, Acc, aAcc, and mIoU / mAcc as NaN-skipping means.

/// The metrics of a finished evaluation.
public struct SegmentationScores: Sendable, Equatable {
    /// Mean IoU over the classes whose IoU is defined (mmseg's `nanmean`); NaN when none is.
    public let miou: Double
    /// Overall pixel accuracy Σ intersect / Σ label (NaN without labelled pixels).
    public let aacc: Double
    /// Mean per-class accuracy over the classes present in the labels (nanmean).
    public let macc: Double
    /// IoU per class; nil where union is 0 (the class is absent from both prediction and labels).
    public let perClassIoU: [Double?]
    /// Accuracy per class; nil where the class has no labelled pixel.
    public let perClassAcc: [Double?]
}

/// Accumulates mmseg's `intersect_and_union` over (H, W) prediction/label maps.
///
/// Pixels whose label is the ignore value are dropped first (whatever the prediction). Labels and predictions
/// outside `0..<K` otherwise are not counted as any class (mmseg's histc range drops them); a label ≥ K that is not
/// the ignore value still counts in no area, exactly as `torch.histc(bins=K, min=0, max=K−1)` does for values > K−1.
public struct SegmentationMetrics: Sendable {
    /// Number of classes K.
    public let classCount: Int
    /// Label value excluded from every area.
    public let ignoreIndex: Int
    /// Per-class sums.  // (K,) each
    public private(set) var areaIntersect: [Int64]
    public private(set) var areaUnion: [Int64]
    public private(set) var areaPredLabel: [Int64]
    public private(set) var areaLabel: [Int64]

    public init(classCount: Int, ignoreIndex: Int = 255) {
        precondition(classCount > 0, "segmentation metrics need at least one class")
        self.classCount = classCount
        self.ignoreIndex = ignoreIndex
        areaIntersect = [Int64](repeating: 0, count: classCount)
        areaUnion = areaIntersect
        areaPredLabel = areaIntersect
        areaLabel = areaIntersect
    }

    /// Adds one image: `prediction` and `label` are (H, W) maps of the same size, row-major.
    public mutating func add(prediction: [Int32], label: [Int32]) {
        precondition(prediction.count == label.count, "prediction has \(prediction.count) pixels, label \(label.count)")
        let k = classCount
        var inter = [Int64](repeating: 0, count: k), pred = inter, lab = inter
        for i in 0..<label.count {
            let l = Int(label[i])
            if l == ignoreIndex { continue }
            let p = Int(prediction[i])
            let pIn = p >= 0 && p < k, lIn = l >= 0 && l < k
            if pIn { pred[p] += 1 }
            if lIn { lab[l] += 1 }
            if pIn && p == l { inter[p] += 1 }
        }
        for c in 0..<k {
            areaIntersect[c] += inter[c]
            areaPredLabel[c] += pred[c]
            areaLabel[c] += lab[c]
            areaUnion[c] += pred[c] + lab[c] - inter[c]
        }
    }

    /// Adds one image given as label maps (see ``add(prediction:label:)``).
    public mutating func add(prediction: LabelMap, label: LabelMap) {
        precondition(prediction.width == label.width && prediction.height == label.height,
                     "prediction \(prediction.width)×\(prediction.height) vs label \(label.width)×\(label.height)")
        add(prediction: prediction.labels.map(Int32.init), label: label.labels.map(Int32.init))
    }

    /// Merges the sums of another accumulator (e.g. another rank's) into this one.
    public mutating func merge(_ other: SegmentationMetrics) {
        precondition(other.classCount == classCount, "merging metrics of \(other.classCount) and \(classCount) classes")
        for c in 0..<classCount {
            areaIntersect[c] += other.areaIntersect[c]
            areaUnion[c] += other.areaUnion[c]
            areaPredLabel[c] += other.areaPredLabel[c]
            areaLabel[c] += other.areaLabel[c]
        }
    }

    /// mmseg's `total_area_to_metrics` for mIoU and mAcc.
    public func result() -> SegmentationScores {
        let iou: [Double?] = (0..<classCount).map {
            areaUnion[$0] > 0 ? Double(areaIntersect[$0]) / Double(areaUnion[$0]) : nil
        }
        let acc: [Double?] = (0..<classCount).map {
            areaLabel[$0] > 0 ? Double(areaIntersect[$0]) / Double(areaLabel[$0]) : nil
        }
        func nanmean(_ values: [Double?]) -> Double {
            let defined = values.compactMap { $0 }
            return defined.isEmpty ? .nan : defined.reduce(0, +) / Double(defined.count)
        }
        let totalLabel = areaLabel.reduce(0, +)
        let aacc = totalLabel > 0 ? Double(areaIntersect.reduce(0, +)) / Double(totalLabel) : .nan
        return SegmentationScores(miou: nanmean(iou), aacc: aacc, macc: nanmean(acc), perClassIoU: iou, perClassAcc: acc)
    }
}
