// Writes built-in synthetic data to disk in the real layouts (a VTAB-1K task folder, class subfolders), so every
// command can be exercised end to end without downloads.
import Foundation

extension SyntheticImages {
    /// Writes `<root>/<task>/images/{train,test}/NNNNNN.png`, the VTAB-1K list files (`train800.txt`,
    /// `val200.txt`, `train800val200.txt`, `test.txt`, with the 80/20 split of the training images) and
    /// with `writeClassNames`, `labels.txt` with the class names (leave it out to borrow a VTAB task's name and
    /// class count). Returns the task folder.
    @discardableResult
    public func writeVTABTask(root: String, task: String, trainCount: Int, testCount: Int, seed: UInt64,
                              writeClassNames: Bool = false) throws -> String {
        let folder = (root as NSString).appendingPathComponent(task)
        let fm = FileManager.default
        var lines: [String: [String]] = [:]
        for (split, count, offset) in [("train", trainCount, 0), ("test", testCount, trainCount)] {
            try fm.createDirectory(atPath: "\(folder)/images/\(split)", withIntermediateDirectories: true)
            for i in 0..<count {
                let (image, label) = sample(offset + i, seed: seed)
                let rel = String(format: "images/%@/%06d.png", split, i)
                try PNGEncoder.write(image, to: "\(folder)/\(rel)")
                lines[split, default: []].append("\(rel) \(label)")
            }
        }
        let train = lines["train"] ?? [], cut = train.count * 4 / 5
        func write(_ name: String, _ l: [String]) throws {
            try AtomicFileWriter.write(l.joined(separator: "\n") + "\n", to: "\(folder)/\(name).txt")
        }
        try write("train800", Array(train[..<cut]))
        try write("val200", Array(train[cut...]))
        try write("train800val200", train)
        try write("test", lines["test"] ?? [])
        if writeClassNames { try write("labels", classNames) }
        return folder
    }
}
