// Danmaku — a live-stream bullet-comment service.

/// The server a bench run loads: a Danmaku node, or an Nginx with the Nchan module configured as
/// `Benchmarks/nchan/nginx.conf` does, so that both are measured by the same client.
///
/// Nchan neither numbers nor batches messages: against it each publisher numbers its own rooms'
/// comments and posts the very frame a viewer should see (a one-comment `comments` batch of wire
/// format 2's size), and a viewer has joined once its upgrade is answered (Nchan says no `hello`).
public enum BenchTarget: String, Sendable, CaseIterable {
    case danmaku
    case nchan

    /// The viewer's WebSocket path for `room`.
    public func viewerPath(room: String, wireFormat: Int) -> String {
        switch self {
        case .danmaku: "/v1/rooms/\(room)/ws?v=\(wireFormat)"
        case .nchan: "/sub/\(room)"
        }
    }

    /// The path a comment for `room` is posted to.
    public func postPath(room: String) -> String {
        switch self {
        case .danmaku: "/v1/rooms/\(room)/comments"
        case .nchan: "/pub/\(room)"
        }
    }

    /// Whether the server says `hello` when a viewer joins (else the upgrade is the join).
    public var saysHello: Bool { self == .danmaku }

    /// Whether an answer's status means the post was taken.
    public func accepted(status: Int) -> Bool {
        switch self {
        case .danmaku: status == 201
        // Nchan answers 202 when the channel has no subscriber yet, 201 when it has one.
        case .nchan: status == 201 || status == 202
        }
    }

    /// What Nchan is given to publish: the `comments` frame a Danmaku viewer of wire format 2
    /// would get for this one comment, field for field.
    public static func nchanFrame(room: String, seq: UInt64, text: String, sentAtMicroseconds: UInt64) -> String {
        let id = String(seq &* 0x9E37_79B9_7F4A_7C15, radix: 16)
        return #"{"type":"comments","room":"\#(room)","comments":[{"seq":\#(seq),"id":"\#(id)","text":"\#(text)","ts":\#(sentAtMicroseconds / 1000),"user":{"id":"anon-5f3a9c1e","name":"anon"}}]}"#
    }
}
