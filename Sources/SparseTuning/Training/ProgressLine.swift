// The live training progress display on stderr: one line redrawn in place (`\r`) on a terminal, or a plain
// line every so often when stderr is a file or pipe. Shows epoch, step, running loss, lr, img/s and ETA.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A single-line progress display for a training loop.
///
///     epoch 3/100  step 12/13  loss 1.2345  lr 1.00e-03  48.2 img/s  ETA 1:02:03
///
/// - epoch is shown 1-based; `loss` is the running mean over the epoch's steps so far; img/s counts the epoch's
///   images over the time since the epoch began; ETA is the steps left in the run times the mean time per
///   training step seen so far by this display (evaluation time is not included).
/// - On a terminal (`interactive`), the line is redrawn in place with `\r` at most every `refreshInterval`
///   seconds (and always at the last step of an epoch). Otherwise a plain line is written for the first update
///   and then every `plainInterval` seconds, so logs stay short.
public final class ProgressLine {
    /// Epochs in the run.
    public let epochs: Int
    /// Steps (batches) per epoch.
    public let stepsPerEpoch: Int
    /// Whether the line is redrawn in place (a terminal) rather than printed as plain lines.
    public let interactive: Bool
    /// Seconds between plain lines when not interactive.
    public let plainInterval: Double
    /// Minimum seconds between redraws when interactive.
    public let refreshInterval: Double

    private let output: (String) -> Void
    private let clock: () -> Double

    private var currentEpoch = -1
    private var lossSum = 0.0
    private var lossCount = 0
    private var epochImages = 0
    private var epochStart = 0.0
    private var lastEvent: Double
    private var trainSeconds = 0.0
    private var trainSteps = 0
    private var lastDraw = -Double.infinity
    private var lineShowing = false
    private let unit: String
    private var lastText = ""
    private var lastTextDrawn = true

    /// - Parameters:
    ///   - interactive: nil decides by whether stderr is a terminal (and `TERM` is not `dumb`).
    ///   - output: where text goes (default: stderr, unbuffered); tests capture it.
    ///   - clock: seconds from any fixed origin (default: the monotonic clock).
    ///   - unit: what the throughput counts ("img", or "clip" for video).
    public init(epochs: Int, stepsPerEpoch: Int, interactive: Bool? = nil, plainInterval: Double = 30,
                refreshInterval: Double = 0.2, output: ((String) -> Void)? = nil, clock: (() -> Double)? = nil,
                unit: String = "img") {
        self.unit = unit
        self.epochs = max(1, epochs)
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        self.interactive = interactive ?? ProgressLine.stderrIsTerminal()
        self.plainInterval = plainInterval
        self.refreshInterval = refreshInterval
        self.output = output ?? ProgressLine.writeToStderr
        self.clock = clock ?? ProgressLine.monotonicSeconds
        lastEvent = self.clock()
    }

    /// Marks the start of epoch `epoch` (0-based): resets the running loss and the img/s clock. Optional — the
    /// first ``update(epoch:step:loss:lr:images:)`` of a new epoch does the same, timing from the previous event.
    public func beginEpoch(_ epoch: Int) {
        let now = clock()
        startEpoch(epoch, at: now)
        lastEvent = now
    }

    /// Records one finished training step and redraws the line if due.
    /// - Parameters:
    ///   - epoch: the epoch, 0-based.
    ///   - step: steps finished in this epoch, 1…stepsPerEpoch (a resumed epoch may start above 1).
    ///   - loss: this step's loss (NaN and infinities are shown, but kept out of the running mean).
    ///   - images: images in this step's batch.
    public func update(epoch: Int, step: Int, loss: Float, lr: Float, images: Int) {
        let now = clock()
        if epoch != currentEpoch { startEpoch(epoch, at: lastEvent) }
        trainSeconds += max(0, now - lastEvent)
        trainSteps += 1
        lastEvent = now
        if loss.isFinite {
            lossSum += Double(loss)
            lossCount += 1
        }
        epochImages += images
        let shownLoss = lossCount > 0 ? lossSum / Double(lossCount) : Double(loss)
        let text = render(epoch: epoch, step: step, loss: shownLoss, lr: lr,
                          imagesPerSecond: now > epochStart ? Double(epochImages) / (now - epochStart) : nil,
                          eta: eta(epoch: epoch, step: step))
        lastText = text
        lastTextDrawn = false
        let last = step >= stepsPerEpoch
        if interactive {
            guard last || now - lastDraw >= refreshInterval else { return }
            output("\r" + text + "\u{1B}[K")
            lineShowing = true
        } else {
            guard trainSteps == 1 || now - lastDraw >= plainInterval else { return }
            output(text + "\n")
        }
        lastDraw = now
        lastTextDrawn = true
    }

    /// Ends the epoch's display: the final state of the line stays visible, followed by `summary` on its own
    /// line if given (e.g. validation accuracy).
    public func endEpoch(_ summary: String? = nil) {
        if interactive {
            if lineShowing {
                output((lastTextDrawn ? "" : "\r" + lastText + "\u{1B}[K") + "\n")
            } else if !lastText.isEmpty {
                output(lastText + "\n")
            }
        } else if !lastTextDrawn, !lastText.isEmpty {
            output(lastText + "\n")
        }
        lineShowing = false
        lastTextDrawn = true
        lastText = ""
        if let summary { output(summary + "\n") }
        lastEvent = clock()
    }

    /// Prints `text` on its own line without garbling the progress line (which reappears at the next update).
    public func message(_ text: String) {
        if interactive && lineShowing {
            output("\r\u{1B}[K" + text + "\n")
            lineShowing = false
            lastDraw = -Double.infinity
        } else {
            output(text + "\n")
        }
    }

    /// Ends the display: a line left open on the terminal is finished with a newline.
    public func finish() {
        if interactive && lineShowing { output("\n") }
        lineShowing = false
    }

    /// Seconds left by the mean training-step time so far, or nil before the first step.
    public func eta(epoch: Int, step: Int) -> Double? {
        guard trainSteps > 0 else { return nil }
        let remaining = max(0, stepsPerEpoch - step) + max(0, epochs - epoch - 1) * stepsPerEpoch
        return Double(remaining) * trainSeconds / Double(trainSteps)
    }

    /// The line's text: `epoch e/E  step s/S  loss L  lr R  N img/s  ETA h:mm:ss` (img/s and ETA as `-` when
    /// unknown).
    public func render(epoch: Int, step: Int, loss: Double, lr: Float, imagesPerSecond: Double?, eta: Double?) -> String {
        let throughput = imagesPerSecond.map { String(format: "%.1f", $0) } ?? "-"
        let remaining = eta.map(ProgressLine.formatDuration) ?? "-"
        return "epoch \(epoch + 1)/\(epochs)  step \(step)/\(stepsPerEpoch)  loss " + String(format: "%.4f", loss)
            + "  lr " + String(format: "%.2e", Double(lr)) + "  \(throughput) \(unit)/s  ETA \(remaining)"
    }

    /// `h:mm:ss` (hours not wrapped at 24; negative and non-finite values as `-`).
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        let total = Int(seconds.rounded())
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return "\(h):" + (m < 10 ? "0" : "") + "\(m):" + (s < 10 ? "0" : "") + "\(s)"
    }

    private func startEpoch(_ epoch: Int, at time: Double) {
        currentEpoch = epoch
        lossSum = 0
        lossCount = 0
        epochImages = 0
        epochStart = time
    }

    // MARK: Defaults

    private static func stderrIsTerminal() -> Bool {
        guard isatty(2) != 0 else { return false }
        return ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    private static func writeToStderr(_ text: String) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }

    private static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }
}
