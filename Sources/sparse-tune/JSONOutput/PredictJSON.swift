// `sparse-tune predict --json`: each image's most probable classes.
import SparseTuning

/// What `predict --json` prints: `{"predictions": [{"image": …, "top": [{"class", "label", "probability"}]}]}`.
struct PredictJSON: Encodable {
    struct Guess: Encodable {
        var `class`: Int
        var label: String
        var probability: Double
    }

    struct Prediction: Encodable {
        var image: String
        var top: [Guess]
    }

    var predictions: [Prediction]
}
