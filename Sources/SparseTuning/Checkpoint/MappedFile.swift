// Read-only memory map of a whole file, with errors that name the path (missing, directory, unreadable).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of a file mapped read-only into memory; unmapped when the last reference goes away.
final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with (used in error messages).
    let path: String
    /// The whole file. Empty for an empty file.
    let bytes: UnsafeRawBufferPointer

    /// Maps `path` read-only. Throws a ``SparseTuningError`` naming the path if it does not exist,
    /// is not a regular file, or cannot be read.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "no such file" : "cannot open for reading (\(String(cString: strerror(errno))))"
            throw SparseTuningError("\(path): \(reason)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SparseTuningError("\(path): cannot stat (\(String(cString: strerror(errno))))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            let kind = (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
            throw SparseTuningError("\(path): is \(kind), expected a checkpoint file")
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SparseTuningError("\(path): cannot map into memory (\(String(cString: strerror(errno))))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
