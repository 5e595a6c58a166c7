// FrameFolderVideo: a video stored as a folder of frame images — the VideoMAE/TSN raw-frame layout
// `<video>/img_00001.jpg, img_00002.jpg, …` or any `*.jpg|*.jpeg|*.png` numbered by the last number in the name.
// The folder is listed once when opened; frames are decoded with `ImageDecoder` when asked for.
import Foundation

/// A video stored as a folder of numbered frame images.
///
/// Frame `i` (0-based) is the file numbered `first + i`, where `first` is the smallest number in the folder: the
/// numbers must be consecutive (`img_00001.jpg`, `img_00002.jpg`, … or `00000.png`, `00001.png`, …). With a
/// ``template`` (e.g. `img_{:05d}.jpg`, Python-style as VideoMAE writes it) only matching names are frames;
/// without one the template is detected from the folder: the image files whose names differ only in their last
/// number.
public final class FrameFolderVideo: VideoReader {
    /// The folder.
    public let path: String
    /// Frame file paths in frame order.
    public let framePaths: [String]
    public var frameCount: Int { framePaths.count }
    public let framesPerSecond: Double? = nil

    /// The frame-file extensions recognised when detecting the template.
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Lists the frames of the folder at `path`.
    ///
    /// - Parameter template: the frame file name with `{}` or `{:0Nd}` where the number goes (nil: detect).
    /// - Throws: ``SparseTuningError`` naming the folder when it cannot be listed, holds no frame, holds frames of
    ///   several naming patterns (without a template), or its numbering has a gap (naming the missing file).
    public init(path: String, template: String? = nil) throws {
        self.path = path
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw SparseTuningError("cannot list frame folder '\(path)': \(error.localizedDescription)")
        }
        let frames = try template.map { try Self.matching(names, template: $0, folder: path) } ?? Self.detected(names, folder: path)
        let sorted = frames.sorted { $0.number < $1.number }
        for (i, frame) in sorted.enumerated() where frame.number != sorted[0].number + i {
            let missing = sorted[i - 1].name.replacingNumber(with: sorted[0].number + i)
            throw SparseTuningError("frame folder '\(path)': frame '\(missing)' is missing (frames are numbered from "
                                    + "\(sorted[0].number) and the next present is \(frame.name))")
        }
        framePaths = sorted.map { (path as NSString).appendingPathComponent($0.name) }
    }

    public func frames(at indices: [Int]) throws -> [RGBImage] {
        try indices.map { i in
            guard i >= 0 && i < framePaths.count else {
                throw SparseTuningError("frame folder '\(path)': frame index \(i) outside 0..<\(framePaths.count)")
            }
            return try ImageDecoder.decode(path: framePaths[i])
        }
    }

    /// A frame file: its name and its number.
    private struct Frame {
        let name: String
        let number: Int
    }

    /// The names matching `template` (`{}` or `{:0Nd}` for the number).
    private static func matching(_ names: [String], template: String, folder: String) throws -> [Frame] {
        guard let open = template.firstIndex(of: "{"), let close = template[open...].firstIndex(of: "}") else {
            throw SparseTuningError("frame template '\(template)' has no '{}' or '{:05d}' for the frame number")
        }
        let prefix = String(template[..<open]), suffix = String(template[template.index(after: close)...])
        let frames = names.compactMap { name -> Frame? in
            guard name.count > prefix.count + suffix.count, name.hasPrefix(prefix), name.hasSuffix(suffix),
                  let number = Int(name.dropFirst(prefix.count).dropLast(suffix.count)), number >= 0 else { return nil }
            return Frame(name: name, number: number)
        }
        guard !frames.isEmpty else {
            throw SparseTuningError("frame folder '\(folder)' has no frame named like '\(template)'")
        }
        return frames
    }

    /// The image files of the folder, which must all follow one pattern (names equal but for their last number).
    private static func detected(_ names: [String], folder: String) throws -> [Frame] {
        var patterns: [String: [Frame]] = [:]
        for name in names where extensions.contains((name as NSString).pathExtension.lowercased()) {
            guard let (pattern, number) = name.lastNumber() else { continue }
            patterns[pattern, default: []].append(Frame(name: name, number: number))
        }
        guard !patterns.isEmpty else {
            throw SparseTuningError("frame folder '\(folder)' has no numbered .jpg, .jpeg or .png frame")
        }
        guard patterns.count == 1 else {
            let examples = patterns.values.map { $0[0].name }.sorted().joined(separator: ", ")
            throw SparseTuningError("frame folder '\(folder)' mixes frame naming patterns (\(examples)); pass a frame template")
        }
        return patterns.values.first!
    }
}

extension String {
    /// The positions of the last run of ASCII digits; nil without digits.
    fileprivate var lastDigitRun: ClosedRange<Index>? {
        guard let last = lastIndex(where: { $0.isASCII && $0.isNumber }) else { return nil }
        var first = last
        while first > startIndex, self[index(before: first)].isASCII && self[index(before: first)].isNumber {
            first = index(before: first)
        }
        return first...last
    }

    /// The name with its last run of digits replaced by `#`, and that number; nil without digits.
    fileprivate func lastNumber() -> (pattern: String, number: Int)? {
        guard let run = lastDigitRun, let number = Int(self[run]) else { return nil }
        return (String(self[..<run.lowerBound]) + "#" + String(self[index(after: run.upperBound)...]), number)
    }

    /// The name with its last number replaced by `number`, zero-padded to the same width.
    fileprivate func replacingNumber(with number: Int) -> String {
        guard let run = lastDigitRun else { return self }
        let digits = String(number), width = distance(from: run.lowerBound, to: run.upperBound) + 1
        return String(self[..<run.lowerBound]) + String(repeating: "0", count: max(0, width - digits.count)) + digits
            + String(self[index(after: run.upperBound)...])
    }
}
