// The FP32 fast path of inference requests: the one flat `data` array of JSON numbers is read directly and the rest
// goes to JSONCoding; anything else is left to the ordinary path (nil).
import Foundation
import XCTest
@testable import SparseTuningServer

final class ServerNumberScannerTests: XCTestCase {
    func split(_ text: String) -> (String, [Double])? {
        NumberArrayScanner.split(Data(text.utf8)).map { (String(decoding: $0.rest, as: UTF8.self), $0.numbers) }
    }

    func testFlatNumbersAreReadAndTheRestKept() throws {
        let body = #"{"id":"x \"data\": [9]","inputs":[{"name":"data","shape":[4],"datatype":"FP32","data" : [ 1, -2.5e-1,3E2 ,0.125 ]}]}"#
        let (rest, numbers) = try XCTUnwrap(split(body))
        XCTAssertEqual(numbers, [1, -0.25, 300, 0.125])
        XCTAssertEqual(rest, #"{"id":"x \"data\": [9]","inputs":[{"name":"data","shape":[4],"datatype":"FP32","data" : []}]}"#)
    }

    func testAnythingElseTakesTheOrdinaryPath() {
        XCTAssertNil(split(#"{"inputs":[{"data":[[1,2],[3,4]]}]}"#), "nested")
        XCTAssertNil(split(#"{"inputs":[{"data":["aGk="]}]}"#), "strings")
        XCTAssertNil(split(#"{"inputs":[{"data":[1]},{"data":[2]}]}"#), "two data keys")
        XCTAssertNil(split(#"{"inputs":[{"data":[01]}]}"#), "leading zero")
        XCTAssertNil(split(#"{"inputs":[{"data":[1e999]}]}"#), "beyond Double")
        XCTAssertNil(split(#"{"inputs":[{"data":[NaN]}]}"#), "not a number")
        XCTAssertNil(split(#"{"inputs":[{"data":[]}]}"#), "empty")
        XCTAssertNil(split(#"{"inputs":[{"data":[1,2"#), "unterminated")
    }
}
