// Activation arena: every tensor of one forward pass or training step comes from one block of memory, placed by a
// plan made once per (batch, token schedule) and reused step after step (llm.c's "malloc and point"). The plan
// comes from the step itself: the first step records each allocation's size and the phase (block boundary) in
// which it is born and dies, then places them so that tensors alive in a common phase never share bytes. Design
// and rules: docs/ENGINE.md.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One step's memory: hands out tensors (`tensor(_:)`, `zeros(_:)`) whose storage is planned.
///
/// Use: ``begin()``, allocations interleaved with ``boundary()`` calls at phase ends (one per block, forward and
/// backward), then ``end()``. A tensor is considered free from the boundary after its last reference goes away, so
/// pointers taken from a tensor stay valid until the next boundary even if the tensor object is released early.
/// An arena serves one call at a time; a model keeps a pool of them (``ArenaPool``) for concurrent calls.
final class Arena {
    /// One allocation of the plan: its byte size and offset, and the phases it lives in.
    struct Slot {
        var bytes: Int
        var offset = 0
        var born = 0
        var died = Int.max
    }

    /// The memory the plan places tensors in. Tensors retain it, so a tensor kept past its step keeps its bytes.
    /// Large blocks are mapped from the kernel and unmapped when freed, so the planning step's one-off buffers
    /// do not stay in malloc's heap (resident) once the plan's block replaces them.
    final class Block {
        let base: UnsafeMutableRawPointer
        let bytes: Int
        private let mapped: Bool
        /// Blocks from this size on are mapped directly.
        static let mapThreshold = 256 << 10

        init(bytes: Int) {
            self.bytes = bytes
            if bytes >= Self.mapThreshold,
               let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED {
                base = p
                mapped = true
            } else {
                base = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
                mapped = false
            }
        }
        deinit { if mapped { munmap(base, bytes) } else { base.deallocate() } }
    }

    /// Records deaths for the step in progress, and keeps the bytes of tensors released in the current phase until
    /// the phase ends (a pointer taken from a tensor stays valid until the next boundary).
    final class Recorder {
        var phase = 0
        var died: [Int] = []  // phase each allocation's tensor was released in; Int.max while alive
        var released: [Block] = []
        func release(_ index: Int, block: Block) {
            if index < died.count { died[index] = phase }
            released.append(block)
        }
        func endPhase() {
            phase += 1
            released.removeAll(keepingCapacity: true)
        }
    }

    private var plan: [Slot] = []
    /// For each planned allocation, the earlier allocations whose bytes it shares: they must be dead by then.
    private var mustBeDead: [[Int]] = []
    private var block: Block?
    private var recorder = Recorder()
    private var current: [Slot] = []
    private var followsPlan = true
    private var active = false

    /// Bytes of the planned block (0 before the first step).
    var plannedBytes: Int { block?.bytes ?? 0 }
    /// Allocations per step in the plan.
    var plannedAllocations: Int { plan.count }
    /// Steps that ran entirely from the planned block (for tests and diagnostics).
    private(set) var plannedSteps = 0

    /// Starts a step.
    func begin() {
        precondition(!active, "Arena.begin inside a step")
        active = true
        // A tensor of an earlier step still alive keeps the old block; the new step needs bytes of its own.
        if block != nil && !isKnownUniquelyReferenced(&block) { block = Block(bytes: block!.bytes) }
        recorder = Recorder()
        current.removeAll(keepingCapacity: true)
        followsPlan = !plan.isEmpty && block != nil
    }

    /// Ends the phase in progress: memory released in it can be reused from the next phase on.
    func boundary() { recorder.endPhase() }

    /// An uninitialised tensor of `shape` from the plan (a heap tensor while the plan is being made or when the
    /// step departs from it).
    func tensor(_ shape: [Int]) -> Tensor {
        precondition(active, "Arena.tensor outside a step")
        let count = shape.reduce(1, *)
        let bytes = (max(count, 1) * 4 + 63) & ~63
        let index = current.count
        current.append(Slot(bytes: bytes, born: recorder.phase))
        recorder.died.append(Int.max)
        if followsPlan, index < plan.count, plan[index].bytes == bytes, let block,
           mustBeDead[index].allSatisfy({ recorder.died[$0] < recorder.phase }) {
            let p = (block.base + plan[index].offset).assumingMemoryBound(to: Float.self)
            return Tensor(borrowing: p, shape: shape, lease: Tensor.Lease(block: block, recorder: recorder, index: index))
        }
        followsPlan = false  // the plan is being made, or this step departs from it: bytes of its own
        let own = Block(bytes: bytes)
        return Tensor(borrowing: own.base.assumingMemoryBound(to: Float.self), shape: shape,
                      lease: Tensor.Lease(block: own, recorder: recorder, index: index))
    }

    /// A zero-filled tensor of `shape`.
    func zeros(_ shape: [Int]) -> Tensor {
        let t = tensor(shape)
        t.data.update(repeating: 0, count: t.count)
        return t
    }

    /// An arena copy of `t`.
    func copy(_ t: Tensor) -> Tensor {
        let c = tensor(t.shape)
        c.data.update(from: t.data, count: t.count)
        return c
    }

    /// Ends the step; when it did not follow the plan, plans anew from what it recorded.
    func end() {
        precondition(active, "Arena.end outside a step")
        active = false
        recorder.endPhase()
        if followsPlan && current.count == plan.count {
            plannedSteps += 1
            return
        }
        for i in current.indices { current[i].died = recorder.died[i] }
        makePlan(current)
    }

    /// Places every slot at the lowest offset where it overlaps no slot alive in a common phase, largest first.
    private func makePlan(_ slots: [Slot]) {
        var placed = slots
        let order = slots.indices.sorted { slots[$0].bytes != slots[$1].bytes ? slots[$0].bytes > slots[$1].bytes : $0 < $1 }
        var done: [Int] = []
        var total = 0
        for i in order {
            let s = placed[i]
            var taken: [(Int, Int)] = []  // byte ranges of placed slots alive together with s
            for j in done where placed[j].born <= s.died && s.born <= placed[j].died {
                taken.append((placed[j].offset, placed[j].offset + placed[j].bytes))
            }
            taken.sort { $0.0 < $1.0 }
            var offset = 0
            for (a, b) in taken where a < offset + s.bytes {
                if b > offset { offset = b }
            }
            placed[i].offset = offset
            total = max(total, offset + s.bytes)
            done.append(i)
        }
        // Which earlier allocations each one shares bytes with (they must be dead when it is handed out).
        mustBeDead = placed.indices.map { j in
            placed.indices.prefix(j).filter { i in
                placed[i].offset < placed[j].offset + placed[j].bytes && placed[j].offset < placed[i].offset + placed[i].bytes
            }
        }
        plan = placed
        if block == nil || block!.bytes < total || !isKnownUniquelyReferenced(&block) {
            block = nil  // free the old one first
            block = Block(bytes: total)
        }
    }
}

/// Arenas of one model, keyed by what fixes a step's allocations (batch, image size, token schedule, mode), so
/// that concurrent calls each get their own and alternating shapes (training and evaluation) keep their plans.
final class ArenaPool: @unchecked Sendable {
    /// Guarded by `lock`. (The unchecked conformance is for that lock: a Mutex cannot hand its non-Sendable arenas
    /// to callers, though each arena only ever serves the one call that took it.)
    private var idle: [(key: String, arena: Arena)] = []
    private let lock = NSLock()
    /// Idle arenas kept at most; older ones are dropped.
    let capacity: Int

    init(capacity: Int = 4) { self.capacity = capacity }

    /// Runs `body` with an arena for `key`, taken from the pool (or new) and returned to it afterwards.
    func with<T>(_ key: String, _ body: (Arena) throws -> T) rethrows -> T {
        let arena = lock.withLock {
            if let i = idle.lastIndex(where: { $0.key == key }) { return idle.remove(at: i).arena }
            return Arena()
        }
        arena.begin()
        defer {
            arena.end()
            lock.withLock {
                idle.append((key, arena))
                if idle.count > capacity { idle.removeFirst(idle.count - capacity) }
            }
        }
        return try body(arena)
    }

    /// Frees every idle arena.
    func removeAll() { lock.withLock { idle.removeAll() } }

    /// Planned bytes of the idle arenas.
    var plannedBytes: Int { lock.withLock { idle.reduce(0) { $0 + $1.arena.plannedBytes } } }

    /// Steps the idle arenas ran entirely from their plans (tests and diagnostics).
    var plannedSteps: Int { lock.withLock { idle.reduce(0) { $0 + $1.arena.plannedSteps } } }
}
