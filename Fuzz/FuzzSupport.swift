// Shared helpers for the libFuzzer targets in this folder (compiled into every target by scripts/fuzz.sh).
import Foundation

/// A per-process scratch file for readers that only take a path (NPZ, metrics logs, mapped safetensors).
func withScratchFile<R>(_ data: UnsafeRawBufferPointer, suffix: String, _ body: (String) throws -> R) rethrows -> R {
    let dir = ProcessInfo.processInfo.environment["FUZZ_SCRATCH"] ?? "/tmp"
    let path = "\(dir)/sparse-tuning-fuzz-\(getpid())\(suffix)"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create the scratch file \(path)")
    var offset = 0
    while offset < data.count {
        let n = write(fd, data.baseAddress! + offset, data.count - offset)
        precondition(n > 0, "cannot write the scratch file \(path)")
        offset += n
    }
    close(fd)
    defer { unlink(path) }
    return try body(path)
}

/// The input as a Swift string (invalid UTF-8 repaired, as the readers that take text see it).
func text(_ data: UnsafeRawBufferPointer) -> String { String(decoding: data, as: UTF8.self) }
