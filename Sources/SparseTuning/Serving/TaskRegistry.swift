// TaskRegistry: the tasks a server holds on one frozen backbone, loaded once. Tasks are loaded at start or at run
// time and unloaded by name; a (re)load builds the whole task from its file first and only then swaps it in, so a
// request sees the old task or the new one, never a half-loaded one.
import Synchronization

/// What the registry knows of a task name: loaded (ready) or unloaded, with its file.
public struct TaskEntry: Sendable, Equatable {
    public let name: String
    public let path: String
    /// True while it is loaded and serving.
    public let ready: Bool
    /// Why it is not ready ("unloaded", or the error of its last load).
    public let reason: String?
}

/// Tasks sharing one backbone, addressable by name; safe from several threads.
public final class TaskRegistry: Sendable {
    /// The frozen backbone every task shares.
    public let backbone: VisionTransformer
    /// Precision tasks run at.
    public let precision: Precision

    private struct State {
        var loaded: [String: ServedTask] = [:]
        /// Every name ever loaded or tried, with its file and state.
        var entries: [String: TaskEntry] = [:]
    }
    private let state = Mutex(State())

    public init(backbone: VisionTransformer, precision: Precision = .fp32) {
        self.backbone = backbone
        self.precision = precision
    }

    /// Whether `name` can name a task: 1 to 64 letters, digits, `-`, `_` or `.` (it appears in URLs and metrics).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
    }

    /// Loads (or reloads) task `name` from `path` — the registry's last file for it when nil — and swaps it in once
    /// it is complete. On failure the task that was serving, if any, goes on serving.
    ///
    /// - Throws: ``SparseTuningError`` for an invalid name, an unknown name without a path, or a task file that
    ///   does not load (see ``ServedTask/init(name:path:backbone:precision:)``).
    @discardableResult
    public func load(_ name: String, path: String? = nil) throws -> ServedTask {
        guard TaskRegistry.isValidName(name) else {
            throw SparseTuningError("task name '\(name)' is not valid: use 1 to 64 letters, digits, '-', '_' or '.'")
        }
        guard let file = path ?? state.withLock({ $0.entries[name]?.path }) else {
            throw SparseTuningError("task '\(name)' is not known: give the path of its task file")
        }
        do {
            let task = try ServedTask(name: name, path: file, backbone: backbone, precision: precision)
            state.withLock { s in
                s.loaded[name] = task
                s.entries[name] = TaskEntry(name: name, path: file, ready: true, reason: nil)
            }
            return task
        } catch let error as SparseTuningError {
            state.withLock { s in
                if s.loaded[name] == nil { s.entries[name] = TaskEntry(name: name, path: file, ready: false, reason: error.message) }
            }
            throw error
        }
    }

    /// Stops serving `name` (requests already holding it finish). Returns false when it was not loaded.
    @discardableResult
    public func unload(_ name: String) -> Bool {
        state.withLock { s in
            guard let task = s.loaded.removeValue(forKey: name) else { return false }
            s.entries[name] = TaskEntry(name: name, path: task.path, ready: false, reason: "unloaded")
            return true
        }
    }

    /// The loaded task `name`, if any.
    public func task(_ name: String) -> ServedTask? {
        state.withLock { $0.loaded[name] }
    }

    /// The loaded tasks, by name.
    public var tasks: [ServedTask] {
        state.withLock { $0.loaded.values.sorted { $0.name < $1.name } }
    }

    /// Every task name known (loaded, unloaded or failed), by name.
    public var entries: [TaskEntry] {
        state.withLock { $0.entries.values.sorted { $0.name < $1.name } }
    }
}
