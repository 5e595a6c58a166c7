// Cross-entropy (hard, soft and unnormalised soft targets, label smoothing 0 / 0.1 / 0.3) against torch's
// F.cross_entropy and its autograd gradient; top-k accuracy with ties; the confusion matrix and its CSV.
import XCTest
import Foundation
@testable import SparseTuning

final class TrainingLossTests: XCTestCase {
    func testCrossEntropyMatchesTorch() throws {
        let fixture = try Fixture("optim/cross_entropy.safetensors")
        let logits = fixture["logits"]
        let hard = fixture["hard"].values.map { Int($0) }
        for eps in ["0.0", "0.1", "0.3"] {
            for (name, targets) in [("hard", CrossEntropy.Targets.hard(hard)), ("soft", .soft(fixture["soft"])),
                                    ("soft_unnormalised", .soft(fixture["soft_unnormalised"]))] {
                let (loss, gradient) = try CrossEntropy.forwardBackward(logits: logits, targets: targets,
                                                                        labelSmoothing: Float(eps)!)
                assertClose([loss], fixture["\(name).\(eps).loss"].values, atol: 1e-6, rtol: 1e-6, "\(name) \(eps) loss")
                XCTAssertEqual(gradient.shape, logits.shape)
                assertClose(gradient.values, fixture["\(name).\(eps).dlogits"].values, atol: 1e-7, rtol: 1e-6,
                            "\(name) \(eps) dlogits")
                let forwardOnly = try CrossEntropy.loss(logits: logits, targets: targets, labelSmoothing: Float(eps)!)
                XCTAssertEqual(forwardOnly, loss)
            }
        }
        // The hard-label overload, against torch directly.
        let a = try CrossEntropy.forwardBackward(logits: logits, labels: hard, labelSmoothing: 0.1)
        assertClose([a.loss], fixture["hard.0.1.loss"].values, atol: 1e-6, rtol: 1e-6, "labels overload, smoothing 0.1: loss")
        assertClose(a.dLogits.values, fixture["hard.0.1.dlogits"].values, atol: 1e-7, rtol: 1e-6,
                    "labels overload, smoothing 0.1: dlogits")
    }

    func testCrossEntropyIsStableForHugeLogits() throws {
        // exp(1000) overflows; log-sum-exp does not.
        let logits = Tensor(shape: [2, 3], values: [1000, 0, -1000, -1e4, -1e4, -1e4])
        let (loss, gradient) = try CrossEntropy.forwardBackward(logits: logits, labels: [0, 2])
        XCTAssertEqual(loss, Float(log(3.0) / 2), accuracy: 1e-6)
        assertClose(gradient.values, [0, 0, 0, 1.0 / 6, 1.0 / 6, -1.0 / 3], atol: 1e-7, rtol: 0, "gradient")
        XCTAssertTrue(gradient.values.allSatisfy(\.isFinite))
    }

    func testCrossEntropyErrors() {
        let logits = Tensor(zeros: [2, 3])
        let cases: [(() throws -> Any, String)] = [
            ({ try CrossEntropy.forwardBackward(logits: Tensor(zeros: [6]), labels: [0]) },
             "cross-entropy: logits have shape [6], expected (batch, classes) with both at least 1"),
            ({ try CrossEntropy.forwardBackward(logits: Tensor(zeros: [0, 3]), labels: []) },
             "cross-entropy: logits have shape [0, 3], expected (batch, classes) with both at least 1"),
            ({ try CrossEntropy.forwardBackward(logits: logits, labels: [0]) }, "cross-entropy: 1 labels for a batch of 2"),
            ({ try CrossEntropy.forwardBackward(logits: logits, labels: [0, 3]) },
             "cross-entropy: label 3 of sample 1 is outside 0..<3"),
            ({ try CrossEntropy.forwardBackward(logits: logits, labels: [-1, 0]) },
             "cross-entropy: label -1 of sample 0 is outside 0..<3"),
            ({ try CrossEntropy.forwardBackward(logits: logits, targets: .soft(Tensor(zeros: [3, 2]))) },
             "cross-entropy: soft targets have shape [3, 2], expected [2, 3] like the logits"),
            ({ try CrossEntropy.forwardBackward(logits: logits, labels: [0, 1], labelSmoothing: 1.5) },
             "cross-entropy: label smoothing 1.5 is outside [0, 1]"),
            ({ try CrossEntropy.loss(logits: logits, targets: .hard([0, 1]), labelSmoothing: -0.1) },
             "cross-entropy: label smoothing -0.1 is outside [0, 1]"),
        ]
        for (run, message) in cases {
            XCTAssertThrowsError(try run()) { XCTAssertEqual("\($0)", message) }
        }
    }

    // MARK: Accuracy

    func testTopKAccuracyWithTies() throws {
        let logits = Tensor(shape: [4, 4], values: [
            0.1, 0.9, 0.5, 0.2,   // label 1: top-1
            0.3, 0.3, 0.3, 0.1,   // label 2: tied with 0 and 1, which come first → rank 2
            5, 4, 3, 2,           // label 3: rank 3
            .nan, 1, 2, 0,        // label 0 is NaN: never a hit
        ])
        let labels = [1, 2, 3, 0]
        XCTAssertEqual(try Accuracy.topKCorrect(logits: logits, labels: labels, ks: [1, 2, 3, 4]), [1, 1, 2, 3])
        XCTAssertEqual(try Accuracy.correct(logits: logits, labels: labels), 1)
        XCTAssertEqual(try Accuracy.accuracy(logits: logits, labels: labels, topK: 3), 0.5)
        XCTAssertEqual(Accuracy.predictions(logits), [1, 0, 0, 2])
        XCTAssertEqual(Accuracy.predictions(Tensor(shape: [1, 3], values: [.nan, .nan, 1])), [2])
        XCTAssertEqual(Accuracy.labels(fromSoftTargets: Tensor(shape: [2, 3], values: [0.2, 0.7, 0.1, 0.5, 0, 0.5])), [1, 0])
        XCTAssertEqual(try Accuracy.accuracy(logits: Tensor(zeros: [0, 3]), labels: []), 0)

        let cases: [(() throws -> Any, String)] = [
            ({ try Accuracy.correct(logits: Tensor(zeros: [3]), labels: [0]) },
             "accuracy: logits have shape [3], expected (batch, classes)"),
            ({ try Accuracy.correct(logits: logits, labels: [0]) }, "accuracy: 1 labels for a batch of 4"),
            ({ try Accuracy.correct(logits: logits, labels: [0, 1, 2, 4]) }, "accuracy: label 4 of sample 3 is outside 0..<4"),
            ({ try Accuracy.correct(logits: logits, labels: labels, topK: 0) }, "accuracy: top-0 requested, k must be at least 1"),
        ]
        for (run, message) in cases {
            XCTAssertThrowsError(try run()) { XCTAssertEqual("\($0)", message) }
        }
    }

    // MARK: Confusion matrix

    func testConfusionMatrixCountsAccuraciesAndCSV() throws {
        var matrix = try ConfusionMatrix(classes: 3)
        let logits = Tensor(shape: [5, 3], values: [
            1, 0, 0,  0, 1, 0,  0, 0, 1,  1, 0, 0,  0, 1, 0,
        ])
        try matrix.add(logits: logits, labels: [0, 1, 2, 1, 1])   // predictions 0 1 2 0 1
        try matrix.add(target: 0, predicted: 2)
        XCTAssertEqual(matrix.counts, [1, 0, 1,
                                       1, 2, 0,
                                       0, 0, 1])
        XCTAssertEqual(matrix[1, 0], 1)
        XCTAssertEqual(matrix.total, 6)
        XCTAssertEqual(matrix.correct, 4)
        XCTAssertEqual(matrix.accuracy, 4.0 / 6)
        XCTAssertEqual(matrix.support(1), 3)
        XCTAssertEqual(matrix.perClassAccuracy, [0.5, 2.0 / 3, 1])
        XCTAssertEqual(matrix.meanPerClassAccuracy!, (0.5 + 2.0 / 3 + 1) / 3, accuracy: 1e-15)

        var other = try ConfusionMatrix(classes: 3)
        try other.add(target: 2, predicted: 2)
        try matrix.merge(other)
        XCTAssertEqual(matrix[2, 2], 2)

        var empty = try ConfusionMatrix(classes: 2)
        XCTAssertEqual(empty.accuracy, 0)
        XCTAssertNil(empty.meanPerClassAccuracy)
        try empty.add(target: 1, predicted: 0)
        XCTAssertEqual(empty.perClassAccuracy, [nil, 0])
        XCTAssertEqual(empty.meanPerClassAccuracy, 0)

        XCTAssertEqual(try empty.csv(), "true\\predicted,0,1,total,accuracy\n0,0,0,0,\n1,1,0,1,0.0\n")
        let dir = temporaryDirectory(self)
        let path = dir + "/confusion.csv"
        try matrix.writeCSV(to: path, classNames: ["cat", "dog, big", "say \"hi\""])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let expected = "true\\predicted,cat,\"dog, big\",\"say \"\"hi\"\"\",total,accuracy\n"
            + "cat,1,0,1,2,0.5\n"
            + "\"dog, big\",1,2,0,3,\(2.0 / 3)\n"
            + "\"say \"\"hi\"\"\",0,0,2,2,1.0\n"
        XCTAssertEqual(text, expected)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["confusion.csv"])
    }

    func testConfusionMatrixErrors() throws {
        var matrix = try ConfusionMatrix(classes: 2)
        let cases: [(() throws -> Void, String)] = [
            ({ _ = try ConfusionMatrix(classes: 0) }, "confusion matrix: 0 classes, expected at least 1"),
            ({ try matrix.add(target: 2, predicted: 0) }, "confusion matrix: true class 2 is outside 0..<2"),
            ({ try matrix.add(target: 0, predicted: -1) }, "confusion matrix: predicted class -1 is outside 0..<2"),
            ({ try matrix.add(logits: Tensor(zeros: [1, 3]), labels: [0]) },
             "confusion matrix: logits have shape [1, 3], expected (batch, 2)"),
            ({ try matrix.add(logits: Tensor(zeros: [2, 2]), labels: [0]) }, "confusion matrix: 1 labels for a batch of 2"),
            ({ try matrix.add(logits: Tensor(zeros: [2, 2]), labels: [0, 5]) },
             "confusion matrix: label 5 of sample 1 is outside 0..<2"),
            ({ try matrix.merge(try ConfusionMatrix(classes: 3)) }, "confusion matrix: cannot merge 3 classes into 2"),
            ({ _ = try matrix.csv(classNames: ["a"]) }, "confusion matrix: 1 class names for 2 classes"),
        ]
        for (run, message) in cases {
            XCTAssertThrowsError(try run()) { XCTAssertEqual("\($0)", message) }
        }
        XCTAssertEqual(matrix.total, 0)
        let missing = temporaryDirectory(self) + "/no/such/dir/m.csv"
        XCTAssertThrowsError(try matrix.writeCSV(to: missing)) { error in
            XCTAssertTrue("\(error)".hasPrefix(missing + ": cannot create a temporary file"), "\(error)")
        }
    }
}
