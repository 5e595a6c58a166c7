// `sparse-tune eval --json`: accuracy (fractions), loss, throughput and per-class accuracy.
import SparseTuning

/// What `eval --json` prints.
struct EvalJSON: Encodable {
    /// One class's accuracy (null when it has no images) and its number of images.
    struct ClassAccuracy: Encodable {
        var `class`: Int
        var name: String
        var accuracy: Nullable<Double>
        var support: Int
    }

    var samples: Int
    var top1: Double
    var top5: Double
    var loss: Double
    var imagesPerSecond: Double
    var skippedImages: Int
    var perClassAccuracy: [ClassAccuracy]
    /// Video: the views each video was scored with (softmax averaged), e.g. {"clips": 5, "crops": 3, "count": 15}.
    var views: VideoViewsJSON?

    struct VideoViewsJSON: Encodable {
        var clips: Int, crops: Int, count: Int, sampling: String
    }

    private enum CodingKeys: String, CodingKey {
        case samples, top1, top5, loss, views
        case imagesPerSecond = "images_per_s", skippedImages = "skipped_images", perClassAccuracy = "per_class_accuracy"
    }

    init(_ result: EvaluationResult, classNames names: [String], video: VideoTaskSettings? = nil) {
        views = video.map { VideoViewsJSON(clips: $0.clips, crops: $0.crops, count: $0.clips * $0.crops, sampling: "\($0.sampling)") }
        samples = result.samples
        top1 = result.top1
        top5 = result.top5
        loss = result.loss
        imagesPerSecond = result.imagesPerSecond
        skippedImages = result.skipped
        perClassAccuracy = result.confusion.perClassAccuracy.enumerated().map { i, accuracy in
            ClassAccuracy(class: i, name: i < names.count ? names[i] : "\(i)", accuracy: Nullable(accuracy),
                          support: result.confusion.support(i))
        }
    }
}
