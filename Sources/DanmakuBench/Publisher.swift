// Danmaku — a live-stream bullet-comment service.

import Foundation
import Histogram
import NIOCore

/// What the publishers did, merged at the end.
public struct PublishTotals: Sendable {
    public var sent = 0
    public var accepted = 0
    /// Refused posts by HTTP status.
    public var rejected: [Int: Int] = [:]
    /// Highest accepted seq per room index: where every viewer of the room must end.
    public var maxSeq: [Int: UInt64] = [:]
    /// Round trip of each answered post in microseconds: request written → answer read (201 or not).
    public var postLatency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    public mutating func add(_ other: PublishTotals) {
        sent += other.sent
        accepted += other.accepted
        rejected.merge(other.rejected, uniquingKeysWith: +)
        maxSeq.merge(other.maxSeq, uniquingKeysWith: max)
        postLatency.add(other.postLatency)
    }
}

/// One keep-alive HTTP connection posting comments at a steady rate, pipelined.
///
/// Each comment's text starts with `b<µs>`, its send time, so viewers can measure end-to-end
/// latency. Pacing is by schedule (comments due since the start), so a slow answer does not
/// lower the offered rate; at most `maxInFlight` posts wait for an answer. At an infinite rate it
/// is a closed loop: each answer makes room for the next post at once, so the connection posts
/// as fast as the server answers with `maxInFlight` always in flight.
public final class Publisher: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let rooms: [String]
    /// The room indexes this connection posts to, in turn.
    private let roomOrder: [Int]
    private let target: BenchTarget
    /// Against Nchan, the seq the next comment of each room gets (the bench numbers them).
    private var nextSeq: [UInt64]
    private let ratePerSecond: Double
    private let textBytes: Int
    /// Share of posts that say the same thing ("666"), for merged repeats; they carry no stamp.
    private let repeatShare: Double
    private var repeatCredit = 0.0
    private var phraseCursor: Int
    private let maxInFlight: Int
    private var roomCursor = 0
    /// Whether `stop` was called: no post is sent after it.
    private var stopped = false
    private var inFlightRooms: [Int] = []
    /// The seq each post in flight carries (against Nchan; 0 against Danmaku, which answers it).
    private var inFlightSeqs: [UInt64] = []
    /// When each post in flight was written (µs, the same clock as `microsecondsNow`), in order.
    private var inFlightSent: [UInt64] = []
    private var inFlightHead = 0
    private var started: NIODeadline?
    private var ticker: RepeatedTask?
    private var received = ByteBuffer()
    /// Totals so far (read on this handler's loop).
    public private(set) var totals = PublishTotals()

    /// - Parameters:
    ///   - maxInFlight: posts that may wait for an answer at once (1 or more).
    ///   - roomStride: 1 posts to every room in turn from `firstRoom`; N posts only to rooms
    ///     `firstRoom`, `firstRoom + N`, …, so that N connections each own their rooms (against
    ///     Nchan a room's seqs must arrive in the order this connection numbers them).
    public init(
        rooms: [String], ratePerSecond: Double, textBytes: Int, firstRoom: Int, repeatShare: Double = 0, maxInFlight: Int = 256,
        target: BenchTarget = .danmaku, roomStride: Int = 1
    ) {
        self.maxInFlight = max(1, maxInFlight)
        self.rooms = rooms
        self.target = target
        self.nextSeq = Array(repeating: 1, count: rooms.count)
        let first = firstRoom % max(1, rooms.count)
        if roomStride > 1 {
            roomOrder = Array(stride(from: first, to: rooms.count, by: roomStride))
        } else {
            roomOrder = (0..<rooms.count).map { (first + $0) % rooms.count }
        }
        self.ratePerSecond = ratePerSecond
        self.textBytes = textBytes
        self.repeatShare = repeatShare
        self.phraseCursor = firstRoom * 7
    }

    /// Starts posting as soon as the connection is up.
    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        started = context.eventLoop.now
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { _ in
            let (publisher, context) = loopBound.value
            publisher.tick(context: context)
        }
    }

    /// Forgets the round trips measured so far (the warm-up's).
    public func resetLatency() {
        totals.postLatency.reset()
    }

    /// Stops posting (answers still in flight are still counted).
    public func stop() {
        stopped = true
        ticker?.cancel()
        ticker = nil
    }

    private func tick(context: ChannelHandlerContext) {
        // A closed loop ticks on every answer too: stopped, it must not post again.
        guard !stopped, let started, context.channel.isActive else { return }
        let elapsed = Double((context.eventLoop.now - started).nanoseconds) / 1e9
        let due = ratePerSecond.isFinite ? Int(clamping: Int64(min(elapsed * ratePerSecond, 1e15))) - totals.sent : Int.max
        let room = min(due, maxInFlight - (inFlightRooms.count - inFlightHead))
        guard room > 0, !roomOrder.isEmpty else { return }
        var batch = context.channel.allocator.buffer(capacity: room * 200)
        let sentAt = microsecondsNow()
        for _ in 0..<room {
            let index = roomOrder[roomCursor]
            roomCursor = (roomCursor + 1) % roomOrder.count
            // Evenly spread: every post adds the share, and a whole credit makes the post a repeat.
            repeatCredit += repeatShare
            let repeats = repeatCredit >= 1
            if repeats { repeatCredit -= 1 }
            let text = repeats ? "666" : "b\(sentAt) \(nextText())"
            var seq: UInt64 = 0
            let body: String
            switch target {
            case .danmaku:
                body = #"{"text":"\#(text)"}"#
            case .nchan:
                seq = nextSeq[index]
                nextSeq[index] += 1
                body = BenchTarget.nchanFrame(room: rooms[index], seq: seq, text: text, sentAtMicroseconds: sentAt)
            }
            batch.writeString("POST \(target.postPath(room: rooms[index])) HTTP/1.1\r\nHost: danmaku\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            batch.writeString(body)
            inFlightRooms.append(index)
            inFlightSeqs.append(seq)
            inFlightSent.append(sentAt)
            totals.sent += 1
        }
        context.writeAndFlush(wrapOutboundOut(batch), promise: nil)
    }

    /// Phrases as they appear in live rooms, mixed so that compression meets realistic text.
    private static let phrases = [
        "666", "哈哈哈哈哈", "前方高能", "主播太强了", "awesome play", "lol", "好耶", "2333", "爷青回",
        "this is insane", "gg", "打卡", "泪目", "nice shot!", "what just happened", "来了来了", "高能预警",
        "first time here", "主播加油", "awsl", "GOAT", "clip it", "卧槽", "🔥🔥🔥", "天秀", "belly laugh",
    ]

    /// About `textBytes` bytes of phrases, a different mix for each post.
    private func nextText() -> String {
        var text = ""
        while text.utf8.count < textBytes {
            phraseCursor = (phraseCursor &* 1_103_515_245 &+ 12345) & 0x7FFF_FFFF
            text += (text.isEmpty ? "" : " ") + Self.phrases[phraseCursor % Self.phrases.count]
        }
        return text
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        let answeredAt = microsecondsNow()
        while let (status, body) = nextResponse() {
            // An answer to no post (a connection refused before it posted: 429, 503) is counted
            // as refused; the bench goes on.
            guard inFlightHead < inFlightRooms.count else {
                totals.rejected[status, default: 0] += 1
                continue
            }
            let room = inFlightRooms[inFlightHead]
            let sentSeq = inFlightSeqs[inFlightHead]
            _ = totals.postLatency.record(answeredAt &- min(answeredAt, inFlightSent[inFlightHead]))
            inFlightHead += 1
            if inFlightHead > 1024 {
                inFlightRooms.removeFirst(inFlightHead)
                inFlightSent.removeFirst(inFlightHead)
                inFlightSeqs.removeFirst(inFlightHead)
                inFlightHead = 0
            }
            if target.accepted(status: status) {
                totals.accepted += 1
                let seq: UInt64? = target == .nchan ? sentSeq : body.withUnsafeReadableBytes { BatchScanner.integerField("seq", in: $0) }
                if let seq {
                    totals.maxSeq[room] = max(totals.maxSeq[room] ?? 0, seq)
                }
            } else {
                totals.rejected[status, default: 0] += 1
            }
        }
        received.discardReadBytes()
        if !ratePerSecond.isFinite { tick(context: context) }
    }

    /// Cuts one response (status and body) off `received`.
    private func nextResponse() -> (Int, ByteBuffer)? {
        let view = received.readableBytesView
        guard let headEnd = view.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: view[view.startIndex..<headEnd.lowerBound], as: UTF8.self)
        let status = Int(head.dropFirst(9).prefix(3)) ?? 0
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let headLength = headEnd.upperBound - view.startIndex
        guard received.readableBytes >= headLength + length else { return nil }
        received.moveReaderIndex(forwardBy: headLength)
        let body = received.readSlice(length: length)!
        return (status, body)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
