// AxisTicks: "nice" axis ranges and tick positions on 1-2-5 steps, and tick labels with consistent decimals.
import Foundation

/// Tick marks for one linear axis: a range rounded out to whole steps of 1, 2 or 5 × 10ⁿ, the ticks in it, and
/// their labels.
public struct AxisTicks: Sendable, Equatable {
    /// The axis minimum (the data minimum rounded down to a whole step).
    public let lower: Double
    /// The axis maximum (the data maximum rounded up to a whole step).
    public let upper: Double
    /// Distance between ticks: 1, 2 or 5 times a power of ten.
    public let step: Double
    /// Tick positions from ``lower`` to ``upper``.
    public let values: [Double]
    /// One label per tick, with the same number of decimals (or the same exponent notation) throughout.
    public let labels: [String]

    /// Ticks covering `min…max` with about `target` intervals (at least 2), finer when rounding the range out to
    /// whole steps would waste more than a quarter of it.
    ///
    /// A degenerate range (`min == max`) is widened around the value (by 1 at zero, else by 10 % of its
    /// magnitude); non-finite or reversed bounds give the range 0…1.
    public init(min lo: Double, max hi: Double, target: Int = 5) {
        var a = lo, b = hi
        if !a.isFinite || !b.isFinite || a > b { (a, b) = (0, 1) }
        if a == b {
            let pad = a == 0 ? 1 : abs(a) * 0.1
            (a, b) = (a - pad, b + pad)
        }
        // Very wide ranges would overflow below; fall back to a symmetric safe range.
        if !(b - a).isFinite { (a, b) = (-Double.greatestFiniteMagnitude / 4, Double.greatestFiniteMagnitude / 4) }
        var step = AxisTicks.niceStep((b - a) / Double(Swift.max(2, target)))
        // Rounding out to whole steps may leave much empty room (1…12 on 0…15); then take finer steps while the
        // tick count stays reasonable.
        for _ in 0..<3 {
            let span = ((b / step).rounded(.up) - (a / step).rounded(.down)) * step
            let finer = AxisTicks.finerStep(step)
            guard span > 1.25 * (b - a), (b - a) / finer <= Double(2 * Swift.max(2, target)) else { break }
            step = finer
        }
        var first = (a / step).rounded(.down), last = (b / step).rounded(.up)
        // Guard against values too far from zero for the step (float precision): at least one interval.
        if last <= first { last = first + 1 }
        if last - first > 1000 { first = (a / step).rounded(.down); last = first + 1000 }
        lower = first * step
        upper = last * step
        self.step = step
        let count = Int(last - first)
        values = (0...count).map { (first + Double($0)) * step }
        labels = AxisTicks.labels(values, step: step)
    }

    /// The smallest 1, 2 or 5 × 10ⁿ not below `raw` (> 0).
    static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1.000001 ? 1 : fraction <= 2.000001 ? 2 : fraction <= 5.000001 ? 5 : 10
        return nice * magnitude
    }

    /// The next smaller 1-2-5 step below `step` (5 → 2, 2 → 1, 1 → 0.5).
    static func finerStep(_ step: Double) -> Double {
        let magnitude = pow(10, log10(step).rounded(.down))
        let m = (step / magnitude).rounded()
        return m >= 5 ? 2 * magnitude : m >= 2 ? magnitude : magnitude / 2
    }

    /// Labels for `values` spaced by `step`: fixed decimals when the step is between 10⁻⁴ and 10⁶, otherwise
    /// mantissa-exponent notation such as `2e-5`.
    static func labels(_ values: [Double], step: Double) -> [String] {
        let exponent = Int(log10(step).rounded(.down))
        let largest = values.map(abs).max() ?? 0
        if exponent >= -4 && largest < 1e6 {
            let decimals = Swift.max(0, -exponent)
            return values.map { v in
                let text = String(format: "%.\(decimals)f", abs(v) < step * 1e-6 ? 0 : v)
                return text
            }
        }
        return values.map { scientific(abs($0) < step * 1e-6 ? 0 : $0, stepExponent: exponent) }
    }

    /// `v` as mantissa "e" exponent with just enough mantissa digits for ticks `10^stepExponent` apart.
    static func scientific(_ v: Double, stepExponent: Int) -> String {
        if v == 0 { return "0" }
        let e = Int(log10(abs(v)).rounded(.down))
        let digits = Swift.max(0, Swift.min(6, e - stepExponent))
        var mantissa = String(format: "%.\(digits)f", v / pow(10, Double(e)))
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        // Rounding may carry the mantissa to 10.
        if mantissa == "10" || mantissa == "-10" { return (v < 0 ? "-1" : "1") + "e\(e + 1)" }
        return mantissa + "e\(e)"
    }

    /// Short text for a single value (legends, captions): up to 4 significant digits.
    public static func format(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "inf" : "-inf") }
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e-3 && a < 1e6 {
            var s = String(format: "%.4g", v)
            if s.contains("e") { s = String(format: "%.0f", v) }
            return s
        }
        return scientific(v, stepExponent: Int(log10(a).rounded(.down)) - 3)
    }
}
