// CIFARDataset: the CIFAR-10 and CIFAR-100 binary releases (fixed-size records of label bytes followed by a 32×32
// image in channel-major order), detected from the files present and held in memory.
import Foundation

/// CIFAR-10 or CIFAR-100 from the "binary version" archives, loaded fully in memory (≈150 MB for a training set).
///
/// - CIFAR-10 (`cifar-10-batches-bin/`): `data_batch_1.bin` … `data_batch_5.bin` (train) and `test_batch.bin`
///   (test); each record is 1 label byte (0…9) + 3072 pixel bytes; class names from `batches.meta.txt`.
/// - CIFAR-100 (`cifar-100-binary/`): `train.bin` and `test.bin`; each record is 1 coarse label byte (0…19),
///   1 fine label byte (0…99) + 3072 pixel bytes; names from `fine_label_names.txt` / `coarse_label_names.txt`.
///
/// Pixels are stored as the 1024 red, then 1024 green, then 1024 blue values of the 32×32 image, row by row.
/// Without a names file the classes are called `"0"…"K−1"`.
public struct CIFARDataset: ImageSource {
    /// Which release.
    public enum Variant: String, Sendable {
        case cifar10 = "CIFAR-10"
        case cifar100 = "CIFAR-100"

        /// Label bytes per record (1 for CIFAR-10, 2 for CIFAR-100).
        public var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        /// Bytes per record: label bytes + 3072.
        public var recordBytes: Int { labelBytes + CIFARDataset.imageBytes }
    }

    /// Which CIFAR-100 labels to use (CIFAR-10 has only one kind).
    public enum LabelKind: String, Sendable {
        /// The 100 fine classes (the usual benchmark).
        case fine
        /// The 20 superclasses.
        case coarse
    }

    /// Image side (32).
    public static let side = 32
    /// Pixel bytes per record (3 × 32 × 32).
    public static let imageBytes = 3 * 32 * 32
    /// Largest file accepted (bytes); the real files are at most 155 MB.
    public static let maxFileBytes = 1 << 30

    /// The folder holding the `.bin` files.
    public let root: String
    public let variant: Variant
    /// `train` or `test`.
    public let split: String
    /// The files read, in order.
    public let files: [String]
    public let classNames: [String]
    /// Labels in record order (fine or coarse for CIFAR-100, as opened).
    public let labels: [Int]
    /// All images, `imageBytes` each, channel-major.
    let pixels: [UInt8]
    /// Index of the first sample of each file in ``files``.
    let fileStarts: [Int]

    public var count: Int { labels.count }
    public func label(_ i: Int) -> Int { labels[i] }

    public func image(_ i: Int) throws -> RGBImage {
        let plane = Self.side * Self.side
        var rgb = [UInt8](repeating: 0, count: Self.imageBytes)
        pixels.withUnsafeBufferPointer { src in
            let base = i * Self.imageBytes
            for p in 0..<plane {
                rgb[3 * p] = src[base + p]
                rgb[3 * p + 1] = src[base + plane + p]
                rgb[3 * p + 2] = src[base + 2 * plane + p]
            }
        }
        return RGBImage(width: Self.side, height: Self.side, pixels: rgb)
    }

    /// `"<file>[<record>]"`.
    public func describe(_ i: Int) -> String {
        var f = fileStarts.count - 1
        while f > 0 && fileStarts[f] > i { f -= 1 }
        return "\(files[f])[\(i - fileStarts[f])]"
    }

    /// Opens split `split` (`train` or `test`) of the CIFAR binary release in `root` — the folder holding the
    /// `.bin` files, or its parent holding `cifar-10-batches-bin/` or `cifar-100-binary/`. The variant is
    /// detected from the files present.
    ///
    /// - Parameter labels: fine (default) or coarse labels for CIFAR-100; ignored for CIFAR-10.
    /// - Throws: ``SparseTuningError`` when no (or both) releases are found (listing the folder), a file of the
    ///   split is missing, empty, too large or not a whole number of records, a label byte is out of range (naming
    ///   file and record), or a names file has the wrong number of names.
    public static func open(root: String, split: String, labels: LabelKind = .fine) throws -> CIFARDataset {
        guard DatasetFiles.isDirectory(root) else {
            throw SparseTuningError("CIFAR folder '\(root)' not found")
        }
        guard split == "train" || split == "test" else {
            throw SparseTuningError("unknown CIFAR split '\(split)' (expected train or test)")
        }
        let (folder, variant) = try locate(root)
        let files: [String]
        switch (variant, split) {
        case (.cifar10, "train"): files = (1...5).map { "data_batch_\($0).bin" }
        case (.cifar10, _): files = ["test_batch.bin"]
        case (.cifar100, "train"): files = ["train.bin"]
        case (.cifar100, _): files = ["test.bin"]
        }
        let paths = files.map { (folder as NSString).appendingPathComponent($0) }
        let missing = zip(files, paths).filter { !FileManager.default.fileExists(atPath: $0.1) }.map(\.0)
        guard missing.isEmpty else {
            throw SparseTuningError(
                "\(variant.rawValue) folder '\(folder)' lacks \(missing.joined(separator: ", ")) for the \(split) split "
                + "(it has: \(DatasetFiles.summarise(DatasetFiles.directoryEntries(folder))))")
        }

        let kind: LabelKind = variant == .cifar10 ? .fine : labels
        let classCount = variant == .cifar10 ? 10 : (kind == .fine ? 100 : 20)
        var pixels: [UInt8] = [], allLabels: [Int] = [], starts: [Int] = []
        for path in paths {
            let data = try readFile(path, variant: variant)
            starts.append(allLabels.count)
            let parsed = try parseRecords(data, variant: variant, labels: kind, name: path)
            pixels += parsed.pixels
            allLabels += parsed.labels
        }

        let namesFile = (folder as NSString).appendingPathComponent(
            variant == .cifar10 ? "batches.meta.txt" : (kind == .fine ? "fine_label_names.txt" : "coarse_label_names.txt"))
        var classNames = DatasetFiles.numericClassNames(classCount)
        if FileManager.default.fileExists(atPath: namesFile) {
            let names = DatasetFiles.nameLines(try DatasetFiles.readText(namesFile, what: "CIFAR class names file", limit: 1 << 20))
            guard names.count == classCount else {
                throw SparseTuningError(
                    "CIFAR class names file '\(namesFile)' has \(names.count) names, expected \(classCount) (one per line)")
            }
            classNames = names
        }
        return CIFARDataset(root: folder, variant: variant, split: split, files: paths, classNames: classNames,
                            labels: allLabels, pixels: pixels, fileStarts: starts)
    }

    /// Splits the bytes of one `.bin` file into labels and channel-major images.
    ///
    /// - Throws: ``SparseTuningError`` naming `name` when the data is empty or not a whole number of records, or a
    ///   label byte is out of range (naming the record and its byte offset).
    public static func parseRecords(_ data: Data, variant: Variant, labels kind: LabelKind = .fine,
                                    name: String) throws -> (labels: [Int], pixels: [UInt8]) {
        let record = variant.recordBytes
        guard !data.isEmpty else {
            throw SparseTuningError("\(variant.rawValue) file '\(name)' is empty")
        }
        guard data.count % record == 0 else {
            throw SparseTuningError(
                "\(variant.rawValue) file '\(name)' is \(data.count) bytes, not a multiple of the \(record)-byte record "
                + "(\(variant.labelBytes) label byte\(variant.labelBytes == 1 ? "" : "s") + \(imageBytes) pixel bytes); "
                + "truncated, or not the binary version")
        }
        let n = data.count / record
        // CIFAR-100 records are (coarse, fine, pixels).
        let labelOffset = variant == .cifar100 && kind == .fine ? 1 : 0
        let limit = variant == .cifar10 ? 10 : (kind == .fine ? 100 : 20)
        var labels = [Int](repeating: 0, count: n)
        var pixels = [UInt8](repeating: 0, count: n * imageBytes)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            try pixels.withUnsafeMutableBufferPointer { out in
                for r in 0..<n {
                    let base = r * record
                    let label = Int(bytes[base + labelOffset])
                    guard label < limit else {
                        throw SparseTuningError(
                            "\(variant.rawValue) file '\(name)': record \(r) (byte \(base + labelOffset)) has "
                            + "\(variant == .cifar10 ? "" : "\(kind.rawValue) ")label \(label), expected 0…\(limit - 1)")
                    }
                    labels[r] = label
                    (out.baseAddress! + r * imageBytes).update(
                        from: bytes.baseAddress! + base + variant.labelBytes, count: imageBytes)
                }
            }
        }
        return (labels, pixels)
    }

    /// The folder holding the release and its variant.
    private static func locate(_ root: String) throws -> (String, Variant) {
        func variants(_ folder: String) -> [Variant] {
            let fm = FileManager.default
            func has(_ name: String) -> Bool { fm.fileExists(atPath: (folder as NSString).appendingPathComponent(name)) }
            var found: [Variant] = []
            if has("test_batch.bin") || (1...5).contains(where: { has("data_batch_\($0).bin") }) { found.append(.cifar10) }
            if has("train.bin") || has("test.bin") { found.append(.cifar100) }
            return found
        }
        var candidates = [root]
        for sub in ["cifar-10-batches-bin", "cifar-100-binary"] {
            let path = (root as NSString).appendingPathComponent(sub)
            if DatasetFiles.isDirectory(path) { candidates.append(path) }
        }
        for folder in candidates {
            let found = variants(folder)
            if found.count > 1 {
                throw SparseTuningError(
                    "'\(folder)' holds both CIFAR-10 (data_batch_*.bin, test_batch.bin) and CIFAR-100 (train.bin, test.bin) "
                    + "files; keep each release in its own folder")
            }
            if let variant = found.first { return (folder, variant) }
        }
        let entries = DatasetFiles.directoryEntries(root)
        throw SparseTuningError(
            "no CIFAR binary files in '\(root)' (it has "
            + (entries.isEmpty ? "nothing" : DatasetFiles.summarise(entries))
            + "); expected CIFAR-10's data_batch_1…5.bin and test_batch.bin or CIFAR-100's train.bin and test.bin "
            + "(the \"binary version\" archives, not the Python pickles)")
    }

    /// The bytes of a `.bin` file, refusing files above ``maxFileBytes`` before reading them.
    private static func readFile(_ path: String, variant: Variant) throws -> Data {
        if let size = DatasetFiles.fileSize(path), size > maxFileBytes {
            throw SparseTuningError(
                "\(variant.rawValue) file '\(path)' is \(size) bytes, above the \(maxFileBytes >> 20) MB limit "
                + "(the real files are under 160 MB)")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SparseTuningError("cannot read \(variant.rawValue) file '\(path)': \(error.localizedDescription)")
        }
    }
}
