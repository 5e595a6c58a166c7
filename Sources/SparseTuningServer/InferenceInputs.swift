// Turning an inference request's one input into the (B, 3, S, S) tensor a task takes: an FP32 tensor already
// normalised, or BYTES elements holding base64 JPEG/PNG images that get the task's preprocessing. Malformed input
// (data that does not match its own shape, bad base64, an undecodable image) is 400; well-formed input of the
// wrong shape or datatype for the task is 422.
import Foundation
import Hummingbird
import SparseTuning

extension InferRequest.Input {
    /// The input tensor for `task`.
    func tensor(for task: ServedTask) throws -> Tensor {
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }) else {
            throw APIError(.badRequest, "input '\(name)': shape \(shape) is not a list of non-negative sizes")
        }
        let (elements, overflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, elements == data.count else {
            throw APIError(.badRequest, "input '\(name)': shape \(shape) holds \(overflow ? "too many" : "\(elements)") elements, "
                + "but data has \(data.count)")
        }
        let s = task.imageSize
        switch (datatype, data) {
        case ("FP32", .numbers(let values)):
            guard shape.count == 4, shape[0] >= 1, shape[1] == 3, shape[2] == s, shape[3] == s else {
                throw APIError(.unprocessableContent, "input '\(name)': shape \(shape) does not fit task '\(task.name)', which takes "
                    + "FP32 [B, 3, \(s), \(s)] with B ≥ 1 (or BYTES images)")
            }
            guard values.allSatisfy({ abs($0) <= Double(Float.greatestFiniteMagnitude) }) else {
                throw APIError(.unprocessableContent, "input '\(name)': a value does not fit in FP32")
            }
            return Tensor(shape: shape, values: values.map(Float.init))
        case ("FP32", .strings):
            throw APIError(.badRequest, "input '\(name)': FP32 data must be numbers")
        case ("BYTES", .strings(let items)):
            guard shape.count == 1 || (shape.count == 2 && shape[1] == 1), shape[0] >= 1 else {
                throw APIError(.unprocessableContent, "input '\(name)': BYTES shape \(shape) does not fit; expected [B] or [B, 1] encoded images")
            }
            var images: [Data] = []
            for (i, item) in items.enumerated() {
                guard let bytes = Data(base64Encoded: item), !bytes.isEmpty else {
                    throw APIError(.badRequest, "input '\(name)': element \(i) is not base64 of a JPEG or PNG image")
                }
                images.append(bytes)
            }
            do {
                return try task.inputs(encoded: images, names: images.indices.map { "\(name)[\($0)]" })
            } catch let e as SparseTuningError {
                throw APIError(.badRequest, e.message)
            }
        case ("BYTES", .numbers):
            throw APIError(.badRequest, "input '\(name)': BYTES data must be strings (base64 of JPEG or PNG images)")
        default:
            throw APIError(.unprocessableContent, "input '\(name)': datatype '\(datatype)' is not supported; send FP32 "
                + "(normalised [B, 3, \(s), \(s)]) or BYTES (JPEG/PNG images)")
        }
    }
}
