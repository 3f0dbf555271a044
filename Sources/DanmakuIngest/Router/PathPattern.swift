// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation

/// A typed parameter of a path: how its segment is read, and how the API document describes it.
public enum PathParameter: String, Sendable, CaseIterable {
    /// A room id (`RoomID`): a malformed one is `400 invalid_room`.
    case room
    /// A video id (`VideoID`): a malformed one is `400 invalid_video`.
    case video
    /// A comment id, percent-decoded.
    case id
    /// A user id, percent-decoded.
    case user
    /// A segment number of a video pool, range-checked by its handler (`400 invalid_segment`).
    case segment = "n"
}

/// A path with typed parameters, such as `/v1/rooms/{room}/comments/{id}`: what an endpoint is
/// declared with, matched against request paths segment by segment.
public struct PathPattern: Sendable, Hashable, CustomStringConvertible {
    enum Part: Sendable, Hashable {
        case literal(String)
        case parameter(PathParameter)
    }

    let parts: [Part]
    /// The pattern as written (and as the API document names it).
    public let description: String

    /// Parses `/a/{room}/b`; a `{name}` that is not a `PathParameter` is a programming error.
    public init(_ text: String) {
        description = text
        parts = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { segment in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return .literal(String(segment)) }
            let name = String(segment.dropFirst().dropLast())
            guard let parameter = PathParameter(rawValue: name) else { preconditionFailure("unknown path parameter {\(name)} in \(text)") }
            return .parameter(parameter)
        }
    }

    /// The parameters in order of appearance.
    public var parameters: [PathParameter] {
        parts.compactMap { if case .parameter(let parameter) = $0 { parameter } else { nil } }
    }

    /// The raw segments of the parameters when `segments` (a path split at `/`, without the
    /// leading empty one) has this shape: literals equal, parameters non-empty. The values are
    /// checked afterwards (`PathValues`), so a malformed room still finds its endpoint and is
    /// answered `invalid_room` rather than 404.
    func match(_ segments: [Substring]) -> [(PathParameter, Substring)]? {
        guard segments.count == parts.count else { return nil }
        var values: [(PathParameter, Substring)] = []
        for (part, segment) in zip(parts, segments) {
            switch part {
            case .literal(let literal):
                // Byte for byte: a path is matched as sent (percent-encoding is its parameters').
                guard segment.utf8.elementsEqual(literal.utf8) else { return nil }
            case .parameter(let parameter):
                guard !segment.isEmpty else { return nil }
                values.append((parameter, segment))
            }
        }
        return values
    }

    /// How many segments a path it matches has.
    var segmentCount: Int { parts.count }
}

/// The checked values of a matched path's parameters.
public struct PathValues: Sendable {
    public var room: RoomID?
    public var video: VideoID?
    public var id: String?
    public var user: String?
    public var segment: String?

    /// Checks each raw value; the first malformed one is the error.
    static func check(_ raw: [(PathParameter, Substring)]) -> Result<PathValues, DanmakuError> {
        var values = PathValues()
        for (parameter, text) in raw {
            switch parameter {
            case .room:
                guard let room = RoomID(text) else { return .failure(.invalidRoom) }
                values.room = room
            case .video:
                guard let video = VideoID(text) else { return .failure(.invalidVideo) }
                values.video = video
            case .id: values.id = String(text).removingPercentEncoding ?? String(text)
            case .user: values.user = String(text).removingPercentEncoding ?? String(text)
            case .segment: values.segment = String(text).removingPercentEncoding ?? String(text)
            }
        }
        return .success(values)
    }
}
