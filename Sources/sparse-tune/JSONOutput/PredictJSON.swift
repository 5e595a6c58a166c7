// `sparse-tune predict --json`: each image's (or video's) most probable classes.
import SparseTuning

/// What `predict --json` prints: `{"predictions": [{"image": …, "top": [{"class", "label", "probability"}]}]}`; for
/// videos each prediction names its `video` and the `views` averaged instead of an `image`.
struct PredictJSON: Encodable {
    struct Guess: Encodable {
        var `class`: Int
        var label: String
        var probability: Double
    }

    struct Prediction: Encodable {
        var image: String?
        var video: String?
        var views: Int?
        var top: [Guess]

        init(image: String, top: [Guess]) { self.image = image; self.top = top }
        init(video: String, views: Int, top: [Guess]) { self.video = video; self.views = views; self.top = top }
    }

    var predictions: [Prediction]
}
