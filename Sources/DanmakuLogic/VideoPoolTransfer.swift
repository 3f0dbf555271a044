// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuFormats
import Foundation
import NIOCore

/// Import and export of a video's pool in the field's file formats (Bilibili XML in; Bilibili XML,
/// ASS and JSON out), for the video's staff.
///
/// An import is staff's work, like publishing a stream: it needs a moderator of the video, is
/// counted against the publish allowance (`maxVideoComments` published comments), and skips ids
/// the pool has, so the same file imported twice adds nothing the second time. It is all or
/// nothing: a malformed file is refused with its line and reason before anything is stored. Each
/// text meets the post's field rules (length, no control characters); the word filter, rate limits
/// and duplicate checks meant for viewers do not apply, as they do not to a published stream.
public struct VideoPoolTransfer: Sendable {
    /// The bounds of imports and exports.
    public struct Limits: Sendable {
        /// The largest file imported, in bytes (the import endpoint's body bound).
        public var maxFileBytes = BilibiliXMLReader().maxBytes
        /// The most comments one file may hold.
        public var maxFileComments = BilibiliXMLReader().maxComments
        /// Imports per moderator: a few at once, then one per 10 s.
        public var imports = RateLimit(perSecond: 0.1, burst: 5)
        /// Exports per moderator: each reads the whole pool.
        public var exports = RateLimit(perSecond: 1, burst: 10)

        /// The defaults above.
        public init() {}
    }

    let videos: any VideoPoolStore
    let authenticator: any PostAuthenticator
    let configuration: LogicConfiguration
    /// The bounds in force.
    public let limits: Limits
    /// Imports per moderator.
    let importLimiter: RateLimiter
    /// Exports per moderator.
    let exportLimiter: RateLimiter
    let now: @Sendable () -> Double

    /// - Parameter now: the wall clock the per-moderator limits run on, in seconds since 1970.
    public init(
        videos: any VideoPoolStore, authenticator: any PostAuthenticator, configuration: LogicConfiguration, limits: Limits = Limits(),
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.videos = videos
        self.authenticator = authenticator
        self.configuration = configuration
        self.limits = limits
        self.importLimiter = RateLimiter(limits: [.user: limits.imports])
        self.exportLimiter = RateLimiter(limits: [.user: limits.exports])
        self.now = now
    }

    /// What an import did.
    public struct Imported: Sendable, Equatable {
        /// Comments the file held in a mode shown here.
        public var read: Int
        /// Comments added to the pool (ids it had already are not added again).
        public var added: Int
        /// Comments left out, each with its line and why (positioned, scripted and BAS modes).
        public var skipped: [FileFormatError]
    }

    /// Imports `file` in `format` into `video`'s pool (starting it when needed), as a moderator
    /// of the video; all or nothing.
    public func importFile(video: VideoID, format: PoolFileFormat, file: [UInt8], token: String?) async -> Result<Imported, DanmakuError> {
        let moderator: CommentAuthor
        switch await authenticator.moderator(token: token, room: video.scope) {
        case .success(let who): moderator = who
        case .failure(let error): return .failure(error)
        }
        guard format.isImportable else {
            return .failure(.invalidField("format", "a pool is imported from bilibili-xml; \(format.rawValue) is an export format"))
        }
        // Charged before reading: reading a large file is most of an import's cost.
        if let refused = importLimiter.acquire(keys: [.user: moderator.id], now: now()) { return .failure(refused) }
        let contents: BilibiliXMLReader.Contents
        switch BilibiliXMLReader(maxBytes: limits.maxFileBytes, maxComments: limits.maxFileComments).read(file) {
        case .success(let value): contents = value
        case .failure(let error): return .failure(Self.refusal(error))
        }
        var comments: [VideoComment] = []
        comments.reserveCapacity(contents.danmaku.count)
        let validator = CommentValidator(maxTextLength: configuration.maxTextLength)
        for entry in contents.danmaku {
            // A comment is one line here: the site's multi-line comments keep their words.
            let text = entry.text.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
                .replacingOccurrences(of: "\r", with: " ")
            switch validator.validate(CommentRequest(text: text)) {
            case .success(let draft):
                var comment = entry.videoComment(video: video.value)
                comment.text = draft.text
                comments.append(comment)
            case .failure(let error):
                return .failure(.invalidFile(line: entry.line, reason: error.message))
            }
        }
        do {
            let added = try await videos.add(comments, video: video, limit: configuration.maxVideoComments, origin: .published)
            return .success(Imported(read: comments.count, added: added.count, skipped: contents.skipped))
        } catch let full as VideoPoolFull {
            return .failure(.videoFull(max: full.limit))
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
    }

    /// A pool in a file.
    public struct Exported: Sendable {
        /// The file's format.
        public var format: PoolFileFormat
        /// The file.
        public var body: ByteBuffer
        /// Comments in the pool.
        public var comments: Int
        /// Comments an ASS file left out for want of a free lane (0 for the other formats).
        public var omitted: Int
    }

    /// `video`'s whole pool in `format`, for a moderator of the video. `layout` is ASS's.
    public func export(video: VideoID, format: PoolFileFormat, layout: ASSLayout = ASSLayout(), token: String?) async -> Result<Exported, DanmakuError> {
        let moderator: CommentAuthor
        switch await authenticator.moderator(token: token, room: video.scope) {
        case .success(let who): moderator = who
        case .failure(let error): return .failure(error)
        }
        if let refused = exportLimiter.acquire(keys: [.user: moderator.id], now: now()) { return .failure(refused) }
        let comments: [VideoComment]
        do {
            // A pool holds at most its posts' and its publishes' allowances.
            let most = configuration.maxVideoComments > Int.max / 2 ? Int.max : configuration.maxVideoComments * 2
            comments = try await videos.allComments(video: video, limit: most)
        } catch {
            return .failure(.busUnavailable(String(describing: error)))
        }
        switch format {
        case .bilibiliXML:
            return .success(Exported(format: format, body: ByteBuffer(string: BilibiliXMLWriter.write(comments)), comments: comments.count, omitted: 0))
        case .ass:
            let document = ASSWriter.write(comments, layout: layout, title: video.value)
            return .success(Exported(format: format, body: ByteBuffer(string: document.text), comments: comments.count, omitted: document.omitted))
        case .json:
            do {
                return .success(Exported(format: format, body: try WireCodec.encode(comments), comments: comments.count, omitted: 0))
            } catch {
                return .failure(.busUnavailable("encoding the pool: \(error)"))
            }
        }
    }

    /// The answer to a file that cannot be read.
    static func refusal(_ error: FileFormatError) -> DanmakuError {
        error.overBound ? .fileTooLarge(line: error.line, reason: error.reason) : .invalidFile(line: error.line, reason: error.reason)
    }
}
