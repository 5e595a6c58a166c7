// The queue of an experiment suite's runs shared by the ranks of `mpirun … vtab|sweep` (docs/DISTRIBUTED.md): a rank
// takes the next unfinished run by creating its claim file with O_EXCL in the run's folder, so each run is trained
// by exactly one rank, busy ranks do not hold up idle ones, and ranks on several hosts share it through the output
// folder. Claims are per invocation (an id rank 0 draws and broadcasts), so an interrupted suite's claims never block
// its continuation. Alone, every claim succeeds and nothing is written.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct RunQueue {
    let collective: any Collective
    /// This invocation's id, the same on every rank.
    let invocation: UInt32

    init(collective: any Collective) throws {
        self.collective = collective
        var id = [Float(UInt16.random(in: 1...UInt16.max)), Float(UInt16.random(in: 0...UInt16.max))]
        if collective.size > 1 {
            try id.withUnsafeMutableBufferPointer { try collective.broadcast($0.baseAddress!, count: 2, root: 0) }
        }
        invocation = UInt32(id[0]) << 16 | UInt32(id[1])
    }

    /// Whether this rank takes the run whose folder is `directory` (created if needed).
    /// - Throws: ``SparseTuningError`` naming the folder when the claim cannot be written for another reason.
    func claim(_ directory: String) throws -> Bool {
        guard collective.size > 1 else { return true }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent(String(format: ".claim-%08x", invocation))
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw SparseTuningError("\(path): cannot claim the run (\(String(cString: strerror(errno))))")
        }
        let text = "rank \(collective.rank) of \(collective.size)\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        return true
    }
}
