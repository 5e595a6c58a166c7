// .npz reader: numpy's np.savez (stored) and np.savez_compressed (deflated) fixtures, header-only listing, and
// malformed archives crafted byte by byte (non-npy members, bad sizes, CRC, corrupt streams).
import XCTest
import Foundation
@testable import SparseTuning

final class CheckpointNPZTests: XCTestCase {
    func testStoredAndCompressedNumpyArchivesHoldTheSameArrays() throws {
        let stored = try NPZ.read(path: fixturePath("checkpoint/tiny_google.npz"))
        let compressed = try NPZ.read(path: fixturePath("checkpoint/tiny_google_compressed.npz"))
        XCTAssertEqual(stored.count, 42)
        XCTAssertEqual(Set(stored.keys), Set(compressed.keys))
        XCTAssertEqual(stored["embedding/kernel"]?.shape, [4, 4, 3, 8])
        XCTAssertEqual(stored["Transformer/encoderblock_1/MultiHeadDotProductAttention_1/out/kernel"]?.shape, [2, 4, 8])
        for (name, array) in stored {
            let other = try XCTUnwrap(compressed[name], name)
            XCTAssertEqual(array.dtype, .float32, name)
            XCTAssertEqual(array.shape, other.shape, name)
            XCTAssertEqual(array.tensor?.values, other.tensor?.values, name)
            XCTAssertTrue(array.tensor!.values.contains { $0 != 0 }, name)
        }
    }

    func testHeadersListArraysInArchiveOrderWithoutData() throws {
        for fixture in ["tiny_google.npz", "tiny_google_compressed.npz"] {
            let path = fixturePath("checkpoint/" + fixture)
            let headers = try NPZ.headers(path: path)
            let arrays = try NPZ.read(path: path)
            XCTAssertEqual(headers.map(\.name).first, "embedding/kernel")
            XCTAssertEqual(Set(headers.map(\.name)), Set(arrays.keys))
            for (name, header) in headers {
                XCTAssertEqual(header.shape, arrays[name]?.shape, name)
                XCTAssertEqual(header.dtype, .float32, name)
            }
        }
    }

    func testCraftedArchiveWithStoredAndDeflatedMembersReads() throws {
        let dir = temporaryDirectory(self)
        let a = craftNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: floatBytes([1, 2, 3]))
        let b = craftNPY("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", data: [7, 0, 0, 0, 0, 0, 0, 0])
        let path = writeFile(craftZip([ZipMember(name: "a.npy", payload: a),
                                       ZipMember(name: "nested/b.npy", payload: b, deflate: true)]),
                             named: "ok.npz", in: dir)
        let arrays = try NPZ.read(path: path)
        XCTAssertEqual(arrays["a"]?.tensor?.values, [1, 2, 3])
        XCTAssertEqual(arrays["nested/b"]?.int64Values, [7])
        XCTAssertEqual(arrays["nested/b"]?.shape, [])
        XCTAssertEqual(try NPZ.headers(path: path).map(\.name), ["a", "nested/b"])
    }

    func testArchiveLevelErrorsNameTheFile() throws {
        let dir = temporaryDirectory(self)
        assertCheckpointError([dir + "/none.npz", "no such file"]) { _ = try NPZ.read(path: dir + "/none.npz") }
        let text = writeFile(Array("hello world".utf8), named: "text.npz", in: dir)
        assertCheckpointError(["text.npz", "not a zip archive"]) { _ = try NPZ.read(path: text) }
        let fixture = try Data(contentsOf: URL(fileURLWithPath: fixturePath("checkpoint/tiny_google.npz")))
        let truncated = writeFile(Array(fixture.prefix(fixture.count / 2)), named: "truncated.npz", in: dir)
        assertCheckpointError(["truncated.npz", "corrupt zip archive"]) { _ = try NPZ.read(path: truncated) }
        assertCheckpointError(["truncated.npz", "corrupt zip archive"]) { _ = try NPZ.headers(path: truncated) }
    }

    func testMemberErrorsNameTheFileAndMember() throws {
        let dir = temporaryDirectory(self)
        let npy = craftNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: floatBytes([1]))
        func check(_ members: [ZipMember], _ fragments: [String], line: UInt = #line) {
            let name = "m\(line).npz"
            let path = writeFile(craftZip(members), named: name, in: dir)
            assertCheckpointError([name] + fragments, line: line) { _ = try NPZ.read(path: path) }
        }
        check([ZipMember(name: "a.npy", payload: npy), ZipMember(name: "readme.txt", payload: Array("hi".utf8))],
              ["member 'readme.txt' is not a .npy file"])
        check([ZipMember(name: "dir/", payload: [], directory: true)], ["member 'dir/' is a directory"])
        check([ZipMember(name: "a.npy", payload: npy), ZipMember(name: "a.npy", payload: npy)],
              ["member 'a.npy' appears more than once"])
        check([ZipMember(name: "junk.npy", payload: Array("not an array at all".utf8))],
              ["array 'junk'", "not a .npy array"])
        check([ZipMember(name: "short.npy", payload: Array(npy.dropLast(2)))],
              ["array 'short'", "truncated .npy data"])
        check([ZipMember(name: "a.npy", payload: npy, crc: 0x1234_5678)], ["member 'a.npy' fails its CRC-32 check"])
        check([ZipMember(name: "a.npy", payload: npy, declaredSize: UInt32(npy.count + 4))],
              ["member 'a.npy' is stored uncompressed but declares"])
        check([ZipMember(name: "a.npy", payload: npy, declaredSize: 1_000_000, declaredPackedSize: 1_000_000)],
              ["member 'a.npy' declares 1000000 compressed bytes but the file has only"])
        check([ZipMember(name: "bomb.npy", payload: npy, deflate: true, declaredSize: 4_000_000_000)],
              ["member 'bomb.npy' declares 4000000000 bytes from", "more than deflate can produce"])
        check([ZipMember(name: "a.npy", payload: npy, deflate: true, declaredSize: 20)],
              ["member 'a.npy' holds more than the 20 bytes it declares"])
        check([ZipMember(name: "a.npy", payload: npy, deflate: true, declaredSize: UInt32(npy.count + 8))],
              ["member 'a.npy' holds \(npy.count) bytes but declares \(npy.count + 8)"])
        check([ZipMember(name: "a.npy", payload: npy, deflate: true, corruptStream: true)],
              ["member 'a.npy' cannot be read"])
    }

    func testHeaderListingRejectsBadMembersToo() throws {
        let dir = temporaryDirectory(self)
        let path = writeFile(craftZip([ZipMember(name: "x.npy", payload: Array("garbage!!!!!!".utf8), deflate: true)]),
                             named: "bad.npz", in: dir)
        assertCheckpointError(["bad.npz: array 'x'", "not a .npy array"]) { _ = try NPZ.headers(path: path) }
    }
}

// MARK: A minimal zip writer for crafting test archives

/// One member of a crafted zip archive. `deflate` wraps the payload in stored deflate blocks (valid deflate
/// data without compression); the `declared…`, `crc` and `corruptStream` fields falsify the archive on purpose.
struct ZipMember {
    var name: String
    var payload: [UInt8]
    var deflate = false
    var directory = false
    var crc: UInt32?
    var declaredSize: UInt32?
    var declaredPackedSize: UInt32?
    var corruptStream = false
}

/// A zip archive (no zip64, no data descriptors) of `members`.
func craftZip(_ members: [ZipMember]) -> [UInt8] {
    func u16(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(v).littleEndian, Array.init) }
    func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    var body: [UInt8] = []
    var directory: [UInt8] = []
    for member in members {
        var stored = member.payload
        if member.deflate {
            stored = []
            let chunks = stride(from: 0, to: max(member.payload.count, 1), by: 65_535).map {
                Array(member.payload[$0..<min($0 + 65_535, member.payload.count)])
            }
            for (i, chunk) in chunks.enumerated() {
                let final: UInt8 = i == chunks.count - 1 ? 1 : 0
                stored += [member.corruptStream ? 0x07 : final] + u16(chunk.count) + u16(~chunk.count & 0xFFFF) + chunk
            }
        }
        let crc = member.crc ?? crc32(member.payload)
        let packed = member.declaredPackedSize ?? UInt32(stored.count)
        let size = member.declaredSize ?? UInt32(member.payload.count)
        let name = Array(member.name.utf8)
        let method = u16(member.deflate ? 8 : 0)
        let common = u16(20) + u16(0x0800) + method + u16(0) + u16(0x21) + u32(crc) + u32(packed) + u32(size)
            + u16(name.count) + u16(0)
        let offset = UInt32(body.count)
        body += u32(0x0403_4B50) + common + name + stored
        let mode: UInt32 = member.directory ? 0o040755 : 0o100644
        directory += u32(0x0201_4B50) + u16(0x0314) + common + u16(0) + u16(0) + u16(0)
            + u32((mode << 16) | (member.directory ? 0x10 : 0)) + u32(offset) + name
    }
    let end = u32(0x0605_4B50) + u16(0) + u16(0) + u16(members.count) + u16(members.count)
        + u32(UInt32(directory.count)) + u32(UInt32(body.count)) + u16(0)
    return body + directory + end
}

/// CRC-32 (IEEE, as zip uses).
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    return ~crc
}
