// One rank's share of an evaluation set in a data-parallel run: samples rank, rank + ranks, … (no padding, so every
// sample is scored exactly once across the ranks; docs/DISTRIBUTED.md).

/// The samples `rank`, `rank + ranks`, … of `base`.
public struct ShardedSource: ImageSource {
    public let base: any ImageSource
    public let rank: Int
    public let ranks: Int

    public init(_ base: any ImageSource, rank: Int, ranks: Int) {
        self.base = base
        self.rank = rank
        self.ranks = ranks
    }

    public var count: Int { max(0, (base.count - rank + ranks - 1) / ranks) }
    public var classNames: [String] { base.classNames }
    public func label(_ i: Int) -> Int { base.label(rank + i * ranks) }
    public func image(_ i: Int) throws -> RGBImage { try base.image(rank + i * ranks) }
    public func describe(_ i: Int) -> String { base.describe(rank + i * ranks) }
}
