// Preprocess: RGBImage to normalised CHW float tensors (VTAB squash resize or timm eval crop).

/// Per-channel normalisation `(x / 255 − mean) / std`, as torchvision's `ToTensor` + `Normalize`.
public struct Normalization: Sendable, Equatable {
    /// Per-channel means (R, G, B), on the 0…1 scale.
    public var mean: [Float]
    /// Per-channel standard deviations (R, G, B), on the 0…1 scale.
    public var std: [Float]

    /// A normalisation with three means and three standard deviations.
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == 3 && std.count == 3, "normalisation needs 3 means and 3 stds")
        self.mean = mean
        self.std = std
    }

    /// ImageNet statistics (timm `IMAGENET_DEFAULT_MEAN/STD`): mean (0.485, 0.456, 0.406),
    /// std (0.229, 0.224, 0.225).
    public static let imagenet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// Inception statistics, mean 0.5 and std 0.5 (Google's ImageNet-21k ViT checkpoints).
    public static let inception = Normalization(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])

    /// The named normalisation: `"imagenet"` or `"inception"`; nil for any other name.
    public init?(name: String) {
        switch name {
        case "imagenet": self = .imagenet
        case "inception": self = .inception
        default: return nil
        }
    }
}

/// How an image is brought to the square network input size S.
public enum ResizeMode: Sendable, Equatable {
    /// Bicubic resize straight to S×S, ignoring the aspect ratio (the VTAB-1K protocol).
    case squash
    /// timm's evaluation transform: bicubic resize of the shorter side to `floor(S / cropPct)`,
    /// then the central S×S crop.
    case shortSideCrop(cropPct: Float)
}

/// Turns decoded images into the normalised (3, S, S) float input of the network.
public struct ImagePreprocessor: Sendable {
    /// Output side S.
    public var size: Int
    /// Geometry: squash or shorter-side resize + centre crop.
    public var mode: ResizeMode
    /// Channel normalisation applied after scaling to 0…1.
    public var normalization: Normalization

    /// A preprocessor producing `size × size` inputs.
    public init(size: Int = 224, mode: ResizeMode = .squash, normalization: Normalization = .imagenet) {
        precondition(size > 0, "input size \(size) must be positive")
        self.size = size
        self.mode = mode
        self.normalization = normalization
    }

    /// The resized (and, for ``ResizeMode/shortSideCrop(cropPct:)``, cropped) S×S image.
    public func geometry(_ image: RGBImage) -> RGBImage {
        switch mode {
        case .squash:
            return image.resized(width: size, height: size)
        case .shortSideCrop(let cropPct):
            precondition(cropPct > 0, "crop_pct \(cropPct) must be positive")
            // timm computes floor(size / crop_pct) in double precision from a decimal literal such
            // as 0.875 or 0.9; going through the Float's shortest decimal form recovers that value
            // (Double(Float(0.8)) would give 279 instead of 280 for size 224).
            let pct = Double("\(cropPct)")!
            let scaled = Int((Double(size) / pct).rounded(.down))
            return image.resizedShorterSide(to: scaled).centerCropped(width: size, height: size)
        }
    }

    /// The normalised (3, S, S) tensor of one image.
    public func tensor(_ image: RGBImage) -> Tensor {
        let t = Tensor(zeros: [3, size, size])
        write(geometry(image), to: t.data)
        return t
    }

    /// The (B, 3, S, S) batch of `images`, preprocessed in parallel.
    public func batch(_ images: [RGBImage]) -> Tensor {
        let t = Tensor(zeros: [images.count, 3, size, size])
        let stride = 3 * size * size
        parallelFor(images.count) { start, end in
            for i in start..<end { write(geometry(images[i]), to: t.data + i * stride) }
        }
        return t
    }

    /// The (B, 3, S, S) batch of the image files at `paths`, decoded and preprocessed in parallel.
    ///
    /// - Throws: the ``SparseTuningError`` of the first file (in `paths` order) that fails to decode.
    public func batch(paths: [String]) throws -> Tensor {
        let t = Tensor(zeros: [paths.count, 3, size, size])
        let stride = 3 * size * size
        var errors = [SparseTuningError?](repeating: nil, count: paths.count)
        errors.withUnsafeMutableBufferPointer { errors in
            parallelFor(paths.count) { start, end in
                for i in start..<end {
                    do {
                        write(geometry(try ImageDecoder.decode(path: paths[i])), to: t.data + i * stride)
                    } catch {
                        errors[i] = error as? SparseTuningError ?? SparseTuningError("\(paths[i]): \(error)")
                    }
                }
            }
        }
        if let first = errors.lazy.compactMap({ $0 }).first { throw first }
        return t
    }

    /// Writes the S×S image `image` as normalised planes R, G, B at `out` (3·S·S floats),
    /// computing `(x / 255 − mean) / std` in Float like torchvision.
    private func write(_ image: RGBImage, to out: UnsafeMutablePointer<Float>) {
        precondition(image.width == size && image.height == size, "expected a \(size)×\(size) image")
        let plane = size * size
        for c in 0..<3 {
            let mean = normalization.mean[c], std = normalization.std[c]
            let table = (0..<256).map { (Float($0) / 255 - mean) / std }
            let dst = out + c * plane
            image.pixels.withUnsafeBufferPointer { px in
                for i in 0..<plane { dst[i] = table[Int(px[3 * i + c])] }
            }
        }
    }
}
