// .npz archives (np.savez stored / np.savez_compressed deflated): a zip of .npy members, read with ZIPFoundation.
// Member sizes are checked against the archive and sane limits before anything is allocated.
import Foundation
import ZIPFoundation

/// Reading NumPy .npz archives. Array names are the member names without the trailing `.npy`.
public enum NPZ {
    /// Largest accepted uncompressed member, in bytes (16 GiB).
    static let maxMemberBytes: UInt64 = 1 << 34
    /// Deflate cannot expand data by more than about 1032:1.
    static let maxDeflateRatio: UInt64 = 1032

    /// Reads every array of the .npz file at `path`.
    /// - Throws: ``SparseTuningError`` naming the file (and the member) for a missing or corrupt archive,
    ///   a member that is not a `.npy` file, inconsistent sizes, a CRC mismatch or an invalid array.
    public static func read(path: String) throws -> [String: NPYArray] {
        var arrays: [String: NPYArray] = [:]
        try forEachMember(of: path) { archive, entry, name in
            let data = try extract(entry, from: archive, path: path)
            arrays[name] = try NPY.read(data: data, name: "\(path): array '\(name)'")
        }
        return arrays
    }

    /// The header of every array of the .npz file at `path`, in archive order, without reading the data.
    public static func headers(path: String) throws -> [(name: String, header: NPYHeader)] {
        var headers: [(name: String, header: NPYHeader)] = []
        try forEachMember(of: path) { archive, entry, name in
            let label = "\(path): array '\(name)'"
            var prefix = Data()
            do {
                _ = try stream(entry, of: archive, path: path, verify: false) { chunk in
                    prefix.append(chunk)
                    let needed = try prefix.withUnsafeBytes { try NPYHeader.size(ofHeaderIn: $0, name: label) }
                    if let needed, prefix.count >= needed { throw HeaderComplete() }
                }
            } catch is HeaderComplete {
                // The rest of the member is not needed.
            }
            headers.append((name, try prefix.withUnsafeBytes { try NPYHeader($0, name: label) }))
        }
        return headers
    }

    /// Whether `bytes` begin with a zip signature: a local file header, or the end record of an empty archive.
    static func startsLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06])
    }

    /// Thrown by the header reader's consumer to stop decompressing once the header is in hand.
    private struct HeaderComplete: Error {}

    /// Opens the archive and calls `body` for each member after checking it is a regular `.npy` member with a
    /// unique name and plausible sizes.
    private static func forEachMember(of path: String,
                                      _ body: (Archive, Entry, String) throws -> Void) throws {
        let file = try MappedFile(path: path)
        guard startsLikeZip(file.bytes) else {
            throw SparseTuningError("\(path): not a zip archive (expected an .npz file starting with 'PK')")
        }
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw SparseTuningError("\(path): corrupt zip archive (\(error))")
        }
        var seen: Set<String> = []
        for entry in archive {
            let member = entry.path
            guard entry.type == .file else {
                let kind = entry.type == .directory ? "directory" : "symbolic link"
                throw SparseTuningError("\(path): member '\(member)' is a \(kind), expected only .npy files")
            }
            guard member.hasSuffix(".npy") else {
                throw SparseTuningError("\(path): member '\(member)' is not a .npy file")
            }
            let name = String(member.dropLast(4))
            guard seen.insert(name).inserted else {
                throw SparseTuningError("\(path): member '\(member)' appears more than once")
            }
            try checkSizes(entry, fileSize: UInt64(file.bytes.count), path: path)
            try body(archive, entry, name)
        }
    }

    private static func checkSizes(_ entry: Entry, fileSize: UInt64, path: String) throws {
        let member = "\(path): member '\(entry.path)'"
        let (packed, unpacked) = (entry.compressedSize, entry.uncompressedSize)
        guard unpacked <= maxMemberBytes else {
            throw SparseTuningError("\(member) declares \(unpacked) bytes, above the limit of \(maxMemberBytes)")
        }
        guard packed <= fileSize else {
            throw SparseTuningError("\(member) declares \(packed) compressed bytes but the file has only \(fileSize)")
        }
        if entry.isCompressed {
            guard unpacked <= packed * maxDeflateRatio + 1024 else {
                throw SparseTuningError("\(member) declares \(unpacked) bytes from \(packed) compressed bytes, "
                    + "more than deflate can produce")
            }
        } else {
            guard packed == unpacked else {
                throw SparseTuningError("\(member) is stored uncompressed but declares \(packed) stored and "
                    + "\(unpacked) uncompressed bytes")
            }
        }
    }

    /// Passes the member's bytes to `consumer` in chunks and returns their CRC-32 (0 unless `verify`). Errors thrown
    /// by `consumer` pass through; archive and decompression errors become messages naming the file and member.
    private static func stream(_ entry: Entry, of archive: Archive, path: String, verify: Bool,
                               _ consumer: (Data) throws -> Void) throws -> CRC32 {
        do {
            return try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: !verify, consumer: consumer)
        } catch let error as SparseTuningError {
            throw error
        } catch let stop as HeaderComplete {
            throw stop
        } catch {
            throw SparseTuningError("\(path): member '\(entry.path)' cannot be read (\(error))")
        }
    }

    /// The member's bytes, verified against its declared size and CRC-32.
    private static func extract(_ entry: Entry, from archive: Archive, path: String) throws -> Data {
        let member = "\(path): member '\(entry.path)'"
        let expected = Int(entry.uncompressedSize)
        var data = Data(capacity: expected)
        let checksum = try stream(entry, of: archive, path: path, verify: true) { chunk in
            guard data.count + chunk.count <= expected else {
                throw SparseTuningError("\(member) holds more than the \(expected) bytes it declares")
            }
            data.append(chunk)
        }
        guard data.count == expected else {
            throw SparseTuningError("\(member) holds \(data.count) bytes but declares \(expected)")
        }
        guard checksum == entry.checksum else {
            throw SparseTuningError("\(member) fails its CRC-32 check (corrupt archive)")
        }
        return data
    }
}
