// Overflow-checked element and byte counts for shapes read from files.

/// The product of `shape` times `itemSize`, as (element count, byte count), or nil when a dimension is negative
/// or either product overflows `Int`.
func checkedCounts(_ shape: [Int], itemSize: Int) -> (elements: Int, bytes: Int)? {
    var count = 1
    for dim in shape {
        guard dim >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow else { return nil }
        count = product
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: itemSize)
    return overflow ? nil : (count, bytes)
}
