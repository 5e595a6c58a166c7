// ClipSampling: which T frames of an n-frame video make a clip — Kinetics' dense strided window (VideoMAE/DyT) and
// Something-Something's one-frame-per-segment (TSN), for training (random) and for the test views (fixed).
// Pure functions of (frame count, generator / view number).

/// How the T frames of a clip are chosen from a video of n frames.
public enum ClipSampling: Sendable, Equatable, Codable {
    /// T frames `stride` apart from one window of T·stride frames (Kinetics: 16 × 4).
    ///
    /// Training: the window starts uniformly in `0...n − T·stride`; test clip c of C: the starts are evenly spaced
    /// over that range, `⌊c·(n − T·stride)/(C − 1)⌋` (one clip: centred, `⌊(n − T·stride)/2⌋`). A video shorter than
    /// the window is **clamped**: indices `i·stride` beyond the end repeat the last frame (VideoMAE pads likewise).
    case dense(frames: Int, stride: Int)
    /// The n frames split into T equal segments `[⌊k·n/T⌋, ⌊(k+1)·n/T⌋)`, one frame from each (SSv2: 16 segments).
    ///
    /// Training: a uniform frame in each segment; test clip c of C: the point `(c+1)/(C+1)` of each segment,
    /// `⌊(k + (c+1)/(C+1))·n/T⌋` (one clip: the segment middles). With n < T segments are empty and frames repeat:
    /// segment k takes frame `min(⌊k·n/T⌋, n−1)`.
    case segments(frames: Int)

    /// Frames per clip T.
    public var frames: Int {
        switch self {
        case .dense(let frames, _), .segments(let frames): return frames
        }
    }

    /// Kinetics-400 (VideoMAE / DyT): 16 frames at stride 4.
    public static let kinetics = ClipSampling.dense(frames: 16, stride: 4)
    /// Something-Something v2 (VideoMAE / DyT): 16 segments.
    public static let somethingSomething = ClipSampling.segments(frames: 16)

    /// - Throws: ``SparseTuningError`` when T or the stride is not positive.
    public func validated() throws -> ClipSampling {
        switch self {
        case .dense(let frames, let stride):
            guard frames >= 1, stride >= 1 else {
                throw SparseTuningError("dense clip sampling needs at least 1 frame and stride 1 (got \(frames) frames, stride \(stride))")
            }
        case .segments(let frames):
            guard frames >= 1 else { throw SparseTuningError("segment clip sampling needs at least 1 frame (got \(frames))") }
        }
        return self
    }

    /// The T frame indices of a training clip from a video of `frameCount` ≥ 1 frames. Draws one integer for
    /// `.dense` (the start, even when the video is shorter than the window) and T integers for `.segments`.
    public func trainIndices(frameCount n: Int, using rng: inout SeededGenerator) -> [Int] {
        switch self {
        case .dense(let frames, let stride):
            let start = RandomSampling.integer(below: max(n - frames * stride, 0) + 1, &rng)
            return (0..<frames).map { min(start + $0 * stride, n - 1) }
        case .segments(let frames):
            return (0..<frames).map { k in
                let low = k * n / frames, high = (k + 1) * n / frames
                return min(low + RandomSampling.integer(below: high - low, &rng), n - 1)
            }
        }
    }

    /// The T frame indices of test clip `clip` of `clips` (evenly spread over the video) from `frameCount` ≥ 1 frames.
    public func testIndices(frameCount n: Int, clip: Int, clips: Int) -> [Int] {
        precondition(clips >= 1 && clip >= 0 && clip < clips, "clip \(clip) of \(clips)")
        switch self {
        case .dense(let frames, let stride):
            let room = max(n - frames * stride, 0)
            let start = clips == 1 ? room / 2 : clip * room / (clips - 1)
            return (0..<frames).map { min(start + $0 * stride, n - 1) }
        case .segments(let frames):
            // ⌊(k + (c+1)/(C+1))·n/T⌋ = ⌊(k·(C+1) + c + 1)·n / (T·(C+1))⌋, exact in integers.
            return (0..<frames).map { k in min((k * (clips + 1) + clip + 1) * n / (frames * (clips + 1)), n - 1) }
        }
    }
}
