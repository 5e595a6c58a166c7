// ResumeProgressRecord: the `sparse_tuning.resume` metadata JSON of a resume state — format version, epoch, batch
// in epoch, step, best metric and its epoch — as written and read (docs/METHOD.md §7).

/// The progress record of a resume state: `{"format": 1, "epoch": …, "batch_in_epoch": …, "step": …,
/// "best_metric": number or null, "best_epoch": whole number or null}`.
struct ResumeProgressRecord: Codable, Equatable {
    var format: Int
    var progress: ResumeProgress

    private enum CodingKeys: String, CodingKey {
        case format, epoch, step
        case batchInEpoch = "batch_in_epoch", bestMetric = "best_metric", bestEpoch = "best_epoch"
    }

    init(format: Int, progress: ResumeProgress) {
        self.format = format
        self.progress = progress
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func nonNegative(_ value: Int, _ key: CodingKeys) throws -> Int {
            guard value >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected a whole number ≥ 0")
            }
            return value
        }
        func count(_ key: CodingKeys) throws -> Int? {
            try c.decodeWholeNumberIfPresent(forKey: key).map { try nonNegative($0, key) }
        }
        func required(_ key: CodingKeys) throws -> Int { try nonNegative(try c.decodeWholeNumber(forKey: key), key) }
        format = try required(.format)
        progress = ResumeProgress(epoch: try required(.epoch), batchInEpoch: try required(.batchInEpoch),
                                  step: try required(.step), bestMetric: try c.decodeIfPresent(Double.self, forKey: .bestMetric),
                                  bestEpoch: try count(.bestEpoch))
    }

    /// Writes every key; an absent or non-finite best metric and an absent best epoch as null.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(progress.epoch, forKey: .epoch)
        try c.encode(progress.batchInEpoch, forKey: .batchInEpoch)
        try c.encode(progress.step, forKey: .step)
        if let best = progress.bestMetric, best.isFinite { try c.encode(best, forKey: .bestMetric) } else {
            try c.encodeNil(forKey: .bestMetric)
        }
        try c.encode(progress.bestEpoch, forKey: .bestEpoch)
    }
}
