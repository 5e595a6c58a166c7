// JSON request bodies and responses through the one JSON stack (JSONCoding): decoding errors become 400 with the
// path of the bad key, encodable values become application/json responses.
import Foundation
import Hummingbird
import SparseTuning

extension Request {
    /// The body, at most `limit` bytes (413 above; a Content-Length above the limit is refused before reading).
    func bodyBytes(limit: Int) async throws -> Data {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "the request body is \(length) bytes, above the server's limit of \(limit)")
        }
        let buffer = try await body.collect(upTo: limit)
        return Data(buffer.readableBytesView)
    }

    /// The media type of the body ("application/json"), lower-cased, without parameters; nil when not given.
    var mediaType: String? {
        headers[.contentType].map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
    }

    /// Refuses a body whose declared media type is not among `accepted` (415); `allowMissing`: no Content-Type is fine.
    func requireMediaType(_ accepted: [String], allowMissing: Bool) throws {
        guard let type = mediaType else {
            if allowMissing { return }
            throw APIError(.unsupportedMediaType, "missing Content-Type; expected one of \(accepted.joined(separator: ", "))")
        }
        guard accepted.contains(type) else {
            throw APIError(.unsupportedMediaType, "Content-Type '\(type)' is not supported here; expected one of \(accepted.joined(separator: ", "))")
        }
    }

    /// The JSON body decoded as `type` (415 for another media type, 400 for invalid JSON naming the bad key).
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int, allowEmpty: Bool = false) async throws -> T? {
        try requireMediaType(["application/json"], allowMissing: true)
        return try Self.decodeJSON(type, from: try await bodyBytes(limit: limit), allowEmpty: allowEmpty)
    }

    /// An inference request: its one FP32 `data` array read by ``NumberArrayScanner`` when it can, the rest (or all
    /// of it otherwise) by JSONCoding.
    func decodeInferRequest(limit: Int) async throws -> InferRequest? {
        try requireMediaType(["application/json"], allowMissing: true)
        let data = try await bodyBytes(limit: limit)
        if let (rest, numbers) = NumberArrayScanner.split(data),
           var request = try? JSONCoding.decode(InferRequest.self, from: rest, source: "request body"),
           request.inputs.count == 1, request.inputs[0].data == .numbers([]) {
            request.inputs[0].data = .numbers(numbers)
            return request
        }
        return try Self.decodeJSON(InferRequest.self, from: data, allowEmpty: false)
    }

    private static func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data, allowEmpty: Bool) throws -> T? {
        if data.isEmpty {
            if allowEmpty { return nil }
            throw APIError(.badRequest, "the request body is empty; expected a JSON object")
        }
        do {
            return try JSONCoding.decode(type, from: data, source: "request body")
        } catch let e as SparseTuningError {
            throw APIError(.badRequest, e.message)
        }
    }
}

/// A JSON response of `value` with `status`.
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try JSONCoding.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
