// Danmaku — a live-stream bullet-comment service.

import Foundation
import NIOCore
import NIOPosix
import NIOWebSocket
import Synchronization

/// A viewer of one or more live rooms over one WebSocket, for apps and server-side Swift.
///
/// ```swift
/// let client = try DanmakuClient(server: "ws://127.0.0.1:7000", rooms: ["lobby"], token: token)
/// Task { for await event in client {
///     if case .comments(let room, let comments) = event { for c in comments { print(room, c.seq, c.text ?? "") } }
/// } }
/// let receipt = try await client.post("hello", to: "lobby")
/// client.close()
/// ```
///
/// The client connects by itself and, when the connection drops (a network change, a server
/// restart), reconnects with backoff (0.1 s doubling to 5 s, each wait drawn from its upper half) and resumes every room
/// after the last comment it reported (`since` and `epoch`), so nothing is reported twice and
/// nothing in history is missed. Events are buffered for the consumer (at most 100,000; past that
/// the oldest go). A post cut off by a drop is sent again after the reconnect with its
/// idempotency key, so it is stored once (`post(_:to:color:mode:size:pool:)`). At a
/// `shieldingLevel` above 1, comments that weigh less (`DanmakuComment.currentWeight`) are not
/// reported (notices always are).
public final class DanmakuClient: AsyncSequence, Sendable {
    public typealias Element = DanmakuEvent

    private let endpoint: ViewerSocket.Endpoint
    private let token: String?
    private let group: any EventLoopGroup
    private let events: AsyncStream<DanmakuEvent>
    private let emit: AsyncStream<DanmakuEvent>.Continuation
    private let state: Mutex<State>

    private struct State: Sendable {
        /// Watched rooms, in the order they were added (the first is the connection's URL room).
        var rooms: [String]
        var cursors: [String: RoomCursor] = [:]
        /// Frames to write on the current connection; nil while disconnected.
        var outbox: AsyncStream<WebSocketFrame>.Continuation?
        /// Posts sent on the current connection, awaiting their `ack` or `error`, in order.
        /// Posts awaiting their answer, by idempotency key (the server names it in the answer:
        /// posts are answered as they complete, not in the order they were sent).
        var posts: [String: CheckedContinuation<PostReceipt, any Error>] = [:]
        var closed = false
        /// Whether the current connection was said `hello`: only then does the backoff start over
        /// (a resume refused for its read budget opens, says `error` and closes).
        var greeted = false
        var task: Task<Void, Never>?
        /// Comments that weigh less are not reported (1: every comment).
        var shieldingLevel: Int
    }

    /// - Parameters:
    ///   - server: the node's address, `ws://host:port` (or `wss://` for TLS; `http(s)://` too).
    ///   - rooms: the rooms to watch (at least one; the server allows 8 per connection by default).
    ///   - token: a token from `danmaku token` for posting (nil: watch only, or post in open mode).
    ///   - since: a resume point per room (the last seq the app already has).
    ///   - shieldingLevel: 1 (every comment) to 10; comments that weigh less are not reported.
    public init(
        server: String, rooms: [String], token: String? = nil, since: [String: UInt64] = [:], shieldingLevel: Int = 1,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        precondition(!rooms.isEmpty, "watch at least one room")
        endpoint = try ViewerSocket.Endpoint(server)
        self.token = token
        self.group = group
        (events, emit) = AsyncStream.makeStream(of: DanmakuEvent.self, bufferingPolicy: .bufferingNewest(100_000))
        var initial = State(rooms: rooms, shieldingLevel: DanmakuShielding.level(shieldingLevel))
        for room in rooms { initial.cursors[room] = RoomCursor(lastSeq: since[room]) }
        state = Mutex(initial)
        let task = Task { [self] in await run() }
        state.withLock { $0.task = task }
    }

    public func makeAsyncIterator() -> AsyncStream<DanmakuEvent>.Iterator {
        events.makeAsyncIterator()
    }

    /// The rooms watched now.
    public var rooms: [String] { state.withLock { $0.rooms } }

    /// The shielding level, 1 to 10 (a value outside is held to that): comments that weigh less
    /// are not reported from now on. They still count as seen: a resume does not bring them back.
    public var shieldingLevel: Int {
        get { state.withLock { $0.shieldingLevel } }
        set { state.withLock { $0.shieldingLevel = DanmakuShielding.level(newValue) } }
    }

    /// The last seq reported per room: what to pass as `since` to a later client.
    public var lastSeqs: [String: UInt64] { state.withLock { $0.cursors.compactMapValues(\.lastSeq) } }

    /// Starts watching `room` too (reported with `.joined`, or `.refused`).
    public func join(_ room: String, since: UInt64? = nil) {
        let message = state.withLock { state -> [String: Any]? in
            guard !state.rooms.contains(room) else { return nil }
            state.rooms.append(room)
            state.cursors[room] = RoomCursor(lastSeq: since)
            return Self.joinMessage(room, cursor: state.cursors[room]!)
        }
        if let message { send(message) }
    }

    /// Stops watching `room` (not the last one: a client watches at least one room).
    public func leave(_ room: String) {
        let left = state.withLock { state -> Bool in
            guard state.rooms.count > 1, let index = state.rooms.firstIndex(of: room) else { return false }
            state.rooms.remove(at: index)
            state.cursors[room] = nil
            return true
        }
        if left { send(["type": "leave", "room": room]) }
    }

    /// Posts a comment over the socket (to the first room by default) and waits for the server's
    /// answer.
    ///
    /// Each call makes a random idempotency key (a UUID) and sends it with the comment, so a retry
    /// of the post is never stored twice. When the connection is down or drops before the answer
    /// (`.notConnected`), or the server answers `bus_unavailable` or `idempotency_in_progress`, the
    /// client waits for its reconnect (or the server's `retryAfter`) and sends the post again with
    /// the same key: at most `postRetries` times, within `postRetryWindow` of the call. A retry of
    /// a post the server stored is answered with the first receipt.
    ///
    /// Throws `.refused` with the server's code for a refusal (a 4xx code such as `rate_limited` or
    /// `filtered`, or `idempotency_outcome_unknown` when the server could not confirm the first
    /// try), the last `.notConnected` or `.refused` when the retries run out, or `.closed`.
    public func post(
        _ text: String, to room: String? = nil, color: String? = nil, mode: String? = nil, size: String? = nil, pool: Bool = false
    ) async throws -> PostReceipt {
        let key = UUID().uuidString
        var message: [String: Any] = ["type": "comment", "text": text, "idempotencyKey": key]
        if let room { message["room"] = room }
        if let color { message["color"] = color }
        if let mode { message["mode"] = mode }
        if let size { message["size"] = size }
        if pool { message["pool"] = true }
        let deadline = ContinuousClock.now + Self.postRetryWindow
        var retries = 0
        while true {
            // A fresh frame per try: each carries its own mask.
            let frame = try Self.frame(message)
            let wait: Duration
            do {
                return try await send(post: frame, key: key)
            } catch DanmakuClientError.notConnected where retries < Self.postRetries {
                wait = .zero
            } catch DanmakuClientError.refused(let code, let text, let retryAfter)
                where Self.retriedCodes.contains(code) && retries < Self.postRetries
            {
                wait = .seconds(retryAfter ?? 1)
                guard ContinuousClock.now + wait < deadline else {
                    throw DanmakuClientError.refused(code: code, message: text, retryAfter: retryAfter)
                }
            }
            retries += 1
            if wait > .zero { try await Task.sleep(for: wait) }
            guard await waitForConnection(until: deadline) else {
                throw state.withLock { $0.closed } ? DanmakuClientError.closed : DanmakuClientError.notConnected
            }
        }
    }

    /// How many times `post` sends a post again.
    public static let postRetries = 3
    /// How long after the call `post` may still send a post again.
    public static let postRetryWindow: Duration = .seconds(30)
    /// Server answers after which a post is sent again: nothing was stored, or the first try is
    /// still being processed and the retry gets its answer.
    private static let retriedCodes: Set<String> = ["bus_unavailable", "idempotency_in_progress"]

    /// Sends one post on the current connection and waits for the `ack` or `error` naming `key`.
    private func send(post frame: WebSocketFrame, key: String) async throws -> PostReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let error = state.withLock { state -> DanmakuClientError? in
                if state.closed { return .closed }
                guard let outbox = state.outbox else { return .notConnected }
                state.posts[key] = continuation
                outbox.yield(frame)
                return nil
            }
            if let error { continuation.resume(throwing: error) }
        }
    }

    /// Waits until a connection is open (true), or the client is closed or `deadline` passes
    /// (false). It looks every 50 ms: a post waits for a reconnect at most this much longer.
    private func waitForConnection(until deadline: ContinuousClock.Instant) async -> Bool {
        while true {
            let (open, closed) = state.withLock { ($0.outbox != nil, $0.closed) }
            if open { return true }
            if closed || ContinuousClock.now >= deadline { return false }
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                return false
            }
        }
    }

    /// Closes the connection and ends the event sequence; pending posts fail with `.closed`.
    public func close() {
        let (task, outbox, posts) = state.withLock { state in
            state.closed = true
            defer { state.posts.removeAll() }
            return (state.task, state.outbox, Array(state.posts.values))
        }
        for post in posts { post.resume(throwing: DanmakuClientError.closed) }
        outbox?.finish()
        task?.cancel()
        emit.finish()
    }

    // MARK: Connection

    /// Connects, reads until the connection ends, and reconnects with backoff until closed.
    private func run() async {
        var attempt = 0
        while !state.withLock({ $0.closed }), !Task.isCancelled {
            var reason = "connection closed"
            do {
                let (path, joins) = state.withLock { state -> (String, [[String: Any]]) in
                    let first = state.rooms[0]
                    var query = state.cursors[first]!.resumeParameters
                    if let token { query.append(("token", token)) }
                    let joins = state.rooms.dropFirst().map { Self.joinMessage($0, cursor: state.cursors[$0]!) }
                    return (Self.path(room: first, query: query), joins)
                }
                state.withLock { $0.greeted = false }
                let connection = try await ViewerSocket.open(endpoint, path: path, group: group)
                try await serve(connection, joins: joins)
            } catch {
                reason = "\(error)"
            }
            // Read and cleared: a connection that fails to open must not count the last hello.
            if state.withLock({ state in defer { state.greeted = false }; return state.greeted }) { attempt = 0 }
            let pending = state.withLock { state in
                state.outbox?.finish()
                state.outbox = nil
                defer { state.posts.removeAll() }
                return Array(state.posts.values)
            }
            for post in pending { post.resume(throwing: DanmakuClientError.notConnected) }
            if state.withLock({ $0.closed }) || Task.isCancelled { break }
            let delay = Self.backoff(attempt: attempt)
            attempt += 1
            emit.yield(.disconnected(reason: reason, retryIn: delay))
            try? await Task.sleep(for: delay)
        }
        emit.finish()
    }

    /// One connection: a writer draining the outbox, and the reader.
    private func serve(_ connection: ViewerSocket.Connection, joins: [[String: Any]]) async throws {
        let (outbox, queue) = AsyncStream.makeStream(of: WebSocketFrame.self)
        let joinFrames = joins.compactMap { try? Self.frame($0) }
        let open = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.outbox = queue
            // Joins go first, under the same lock: a post retried on this connection to a joined
            // room comes after its join.
            for frame in joinFrames { queue.yield(frame) }
            return true
        }
        guard open else { return }
        try await connection.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await frame in outbox { try await outbound.write(frame) }
                }
                tasks.addTask { [self] in
                    var message = ByteBuffer()
                    for try await frame in inbound {
                        switch frame.opcode {
                        case .text, .continuation:
                            var data = frame.unmaskedData
                            message.writeBuffer(&data)
                            if frame.fin {
                                handle(message)
                                message.clear()
                            }
                        case .ping:
                            state.withLock { _ = $0.outbox?.yield(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)) }
                        case .connectionClose:
                            return
                        default:
                            break
                        }
                    }
                }
                // Either side ending ends the connection.
                try await tasks.next()
                tasks.cancelAll()
            }
        }
    }

    /// Writes `message` on the current connection (dropped while disconnected: a reconnect
    /// repeats what matters, the joins).
    private func send(_ message: [String: Any]) {
        guard let frame = try? Self.frame(message) else { return }
        state.withLock { _ = $0.outbox?.yield(frame) }
    }

    // MARK: Messages

    private func handle(_ buffer: ByteBuffer) {
        guard let message = try? JSONDecoder().decode(ServerMessage.self, from: Data(buffer.readableBytesView)) else { return }
        let room = message.room ?? ""
        switch message.type {
        case "hello":
            guard let lastSeq = message.lastSeq, let epoch = message.epoch else { return }
            let restarted = state.withLock { state in
                state.greeted = true
                return state.cursors[room]?.hello(lastSeq: lastSeq, epoch: epoch)
            }
            guard let restarted else { return }
            if restarted { emit.yield(.restarted(room: room, epoch: epoch)) }
            emit.yield(.joined(room: room, lastSeq: lastSeq, epoch: epoch, online: message.online ?? 0))
        case "comments":
            var comments = message.comments ?? []
            if let merged = message.merged {
                let repeats = Dictionary(merged.compactMap { group in group.first.map { ($0, group.count) } }, uniquingKeysWith: { Swift.max($0, $1) })
                for index in comments.indices { comments[index].repeats = repeats[comments[index].seq] }
            }
            let fresh = state.withLock { state -> [DanmakuComment] in
                let fresh = state.cursors[room]?.fresh(comments) ?? []
                // Seqs merged into a kept comment (or shed) are accounted for up to the batch's lastSeq.
                if let lastSeq = message.lastSeq { state.cursors[room]?.passed(lastSeq) }
                let level = state.shieldingLevel
                return level > DanmakuShielding.levels.lowerBound ? fresh.filter { $0.currentWeight >= level } : fresh
            }
            if !fresh.isEmpty { emit.yield(.comments(room: room, fresh)) }
        case "retract":
            if let seq = message.seq, let id = message.id { emit.yield(.retracted(room: room, seq: seq, id: id)) }
        case "likes":
            if let likes = message.likes, !likes.isEmpty { emit.yield(.likes(room: room, likes)) }
        case "gap":
            if let from = message.from, let to = message.to { emit.yield(.gap(room: room, from: from, to: to)) }
        case "online":
            if let count = message.count { emit.yield(.online(room: room, count: count)) }
        case "ack":
            guard let id = message.id, let seq = message.seq, let ts = message.ts else { return }
            post(answering: message)?.resume(returning: PostReceipt(id: id, room: room, seq: seq, ts: ts))
        case "error":
            let code = message.code ?? "error", text = message.message ?? ""
            // An error that names no post of ours answers a join or leave, or the connection.
            if let post = post(answering: message) {
                post.resume(throwing: DanmakuClientError.refused(code: code, message: text, retryAfter: message.retryAfter))
            } else {
                emit.yield(.refused(code: code, message: text))
            }
        default:
            break  // a message type added later: ignored, as the protocol asks
        }
    }

    /// The post an answer names by its idempotency key, taken off the waiting list.
    private func post(answering message: ServerMessage) -> CheckedContinuation<PostReceipt, any Error>? {
        guard let key = message.idempotencyKey else { return nil }
        return state.withLock { $0.posts.removeValue(forKey: key) }
    }
}

/// What the client writes: its join messages, socket paths and frames, and its reconnect pacing.
extension DanmakuClient {
    /// A `join` for `room` that resumes after what the cursor has seen.
    static func joinMessage(_ room: String, cursor: RoomCursor) -> [String: Any] {
        var message: [String: Any] = ["type": "join", "room": room]
        if let lastSeq = cursor.lastSeq { message["since"] = lastSeq }
        if let epoch = cursor.epoch { message["epoch"] = epoch }
        return message
    }

    /// The socket path of `room` with `query`, percent-encoded.
    static func path(room: String, query: [(String, String)]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let escapedRoom = room.addingPercentEncoding(withAllowedCharacters: allowed) ?? room
        let parameters = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
        return "/v1/rooms/\(escapedRoom)/ws" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
    }

    /// A masked text frame of `message` as JSON.
    static func frame(_ message: [String: Any]) throws -> WebSocketFrame {
        let data = try JSONSerialization.data(withJSONObject: message)
        return WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: data))
    }

    /// 0.1 s doubling to 5 s, each wait drawn from the upper half of that (clients that lost the
    /// same server do not all come back at once: a node's viewers spread over each step).
    static func backoff(attempt: Int) -> Duration {
        let base = Swift.min(5.0, 0.1 * pow(2.0, Double(Swift.min(attempt, 16))))
        return .milliseconds(Int64(base * 1000 * Double.random(in: 0.5...1)))
    }
}
