// Atomic file output: write a temporary sibling, then rename it over the target; never leave a partial file.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open temporary file being written on behalf of a final `path` (which error messages name).
struct AtomicFileWriter {
    /// The destination path.
    let path: String
    /// The temporary file's descriptor, for writers that take one (libpng).
    let fd: Int32

    /// Appends `bytes`, retrying short writes and interrupted calls.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try writeFully(fd, bytes, path: path, what: "write")
    }

    /// Appends `bytes`.
    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Writes `bytes` to `path` atomically (see ``writeFile(at:_:)``).
    static func write(_ bytes: [UInt8], to path: String) throws {
        try writeFile(at: path) { try $0.append(bytes) }
    }

    /// Writes `text` as UTF-8 to `path` atomically.
    static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Creates a temporary file next to `path`, lets `body` fill it, flushes it to disk and renames it to
    /// `path` in one step. On any failure the temporary file is removed and `path` is left untouched.
    static func writeFile(at path: String, _ body: (AtomicFileWriter) throws -> Void) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty else { throw SparseTuningError("\(path): expected a file path, not a directory") }
        let temporary = (directory.isEmpty ? "" : directory + "/")
            + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SparseTuningError("\(path): cannot create a temporary file in '\(directory.isEmpty ? "/" : directory)' "
                + "(\(String(cString: strerror(errno))))")
        }
        var isOpen = true
        do {
            try body(AtomicFileWriter(path: path, fd: fd))
            guard fsync(fd) == 0 else {
                throw SparseTuningError("\(path): flushing to disk failed (\(String(cString: strerror(errno))))")
            }
            isOpen = false
            guard close(fd) == 0 else {
                throw SparseTuningError("\(path): closing failed (\(String(cString: strerror(errno))))")
            }
            guard rename(temporary, path) == 0 else {
                throw SparseTuningError("\(path): cannot replace the file (\(String(cString: strerror(errno))))")
            }
        } catch {
            if isOpen { close(fd) }
            unlink(temporary)
            throw error
        }
    }
}


/// Writes all of `bytes` to `fd`, retrying short writes and interrupted calls; errors name `path` and `what` failed.
func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String, what: String) throws {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw SparseTuningError("\(path): \(what) failed (\(String(cString: strerror(errno))))")
        }
        done += n
    }
}
