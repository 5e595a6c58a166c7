// APIError: a failed request as the client sees it — an HTTP status and one message, sent as {"error": "…"} —
// and the mapping of every error a handler can meet (the batcher's, Hummingbird's, the library's) onto one.
import Foundation
import Hummingbird
import SparseTuning

/// An error response: `status` with body `{"error": message}` and any extra `headers`.
public struct APIError: Error, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// The response for any error thrown while handling a request.
    static func from(_ error: any Error, retryAfterSeconds: Int) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case BatcherError.queueFull(let capacity):
            return APIError(.serviceUnavailable, BatcherError.queueFull(capacity: capacity).description,
                            headers: [.retryAfter: "\(retryAfterSeconds)"])
        case BatcherError.shuttingDown:
            return APIError(.serviceUnavailable, BatcherError.shuttingDown.description, headers: [.retryAfter: "\(retryAfterSeconds)"])
        case BatcherError.timedOut:
            return APIError(.gatewayTimeout, BatcherError.timedOut.description)
        case let e as any HTTPResponseError where e.status == .contentTooLarge:
            return APIError(.contentTooLarge, "the request body is larger than the server's limit")
        case let e as any HTTPResponseError:
            return APIError(e.status, e.status.reasonPhrase)
        case let e as SparseTuningError:
            return APIError(.internalServerError, e.message)
        default:
            return APIError(.internalServerError, "internal error: \(error)")
        }
    }

    /// The JSON response.
    func response() -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let body = (try? JSONCoding.encode(ErrorBody(error: message))) ?? Data(#"{"error":"?"}"#.utf8)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// `{"error": "…"}`.
struct ErrorBody: Codable {
    let error: String
}
