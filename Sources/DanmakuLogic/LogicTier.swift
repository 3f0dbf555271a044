// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore

/// The logic tier of one node, in parts by job: each part holds the ports it uses and nothing
/// else, and callers are handed the part they need. Built once per node from the deployment's
/// ports (`Backend` in the server).
///
/// A class: every request's handler is handed the tier, and the parts hold dozens of references
/// between them (one reference to share, not a hundred to retain).
public final class LogicTier: Sendable {
    /// Live comments, from HTTP and viewers' sockets.
    public let posts: CommentPosting
    /// Posting answered on the caller's thread, when this node's log, bus and moderation state
    /// are all in its memory (the embedded bus); nil otherwise.
    public let immediatePosts: ImmediatePosting?
    /// Posting answered on the connection's loop through the store's one call, when the store
    /// checks and appends a post in one call (Redis without replicas to confirm); nil otherwise.
    public let loopPosts: LoopPosting?
    /// Notices and broadcasts.
    public let notices: NoticePosting
    /// Retraction, recall, and who moderates a room.
    public let moderationActions: ModerationActions
    /// Likes of live comments.
    public let likes: CommentLikes
    /// Reports of live and video comments, and the queues staff work through.
    public let reports: CommentReports
    /// The comment pools of recorded videos.
    public let videos: VideoPools
    /// Video pools' imports and exports in the field's file formats.
    public let transfer: VideoPoolTransfer
    /// Room stats, the busiest rooms, history.
    public let rooms: RoomQueries
    /// What viewers' sockets ask of the tier.
    public let viewers: ViewerGateway
    /// The blocked-word list in force.
    public let words: BlockedWords
    /// Bans and room settings.
    public let moderation: any ModerationStore
    /// Authors' recent removals and bans, which lower the weight of their comments (in this
    /// node's memory; a ban through the moderation API is noted here too).
    public let records: AuthorRecords
    /// Viewers per room across the deployment (kept up to date by the server's presence loop).
    public let online: OnlineDirectory
    /// Streams and the archive of every comment, for replay; nil without an archive or Redis.
    public let replay: (any ReplayStore)?
    /// The per-address budget of expensive reads (history, replay, room stats, socket joins, recall).
    public let reads: ReadBudget

    /// - Parameters:
    ///   - log: numbering and history.
    ///   - bus: publishing to viewers.
    ///   - onPublishFailure: told when a stored comment could not be published live (it stays in
    ///     history, so resuming viewers still get it).
    public init(
        configuration: LogicConfiguration, log: any CommentLog, bus: any CommentBus,
        metrics: LogicMetrics = LogicMetrics(), authenticator: any PostAuthenticator = OpenPosting(),
        moderation: any ModerationStore = MemoryModeration(), online: OnlineDirectory = OnlineDirectory(),
        replay: (any ReplayStore)? = nil, likes: any LikeStore = MemoryLikes(), videos: any VideoPoolStore = MemoryVideoPools(),
        reports: any ReportStore = MemoryReports(),
        idempotency: any IdempotencyStore = MemoryIdempotency(),
        onPublishFailure: @escaping @Sendable (any Error) -> Void = { _ in }
    ) {
        let words = BlockedWords(configuration.words)
        let reads = ReadBudget(limit: configuration.readLimit)
        let records = AuthorRecords()
        let admission = CommentAdmission(configuration: configuration, words: words, moderation: moderation, records: records)
        let publisher = RecordPublisher(log: log, bus: bus, onPublishFailure: onPublishFailure)
        let idempotentPosts = IdempotentPosts(store: idempotency, window: .seconds(configuration.idempotencyWindowSeconds), metrics: metrics)
        let likers = Likers(authenticator: authenticator, limit: configuration.likeLimit)
        let recallWindow = RecallWindow(seconds: configuration.recallSeconds)
        let posts = CommentPosting(
            authenticator: authenticator, admission: admission, publisher: publisher, idempotency: idempotentPosts, metrics: metrics)
        self.posts = posts
        self.immediatePosts = ImmediatePosting(
            authenticator: authenticator, admission: admission, log: log, bus: bus, moderation: moderation, metrics: metrics)
        self.loopPosts = LoopPosting(authenticator: authenticator, admission: admission, log: log, bus: bus, metrics: metrics)
        self.notices = NoticePosting(authenticator: authenticator, publisher: publisher, idempotency: idempotentPosts, online: online)
        self.moderationActions = ModerationActions(
            authenticator: authenticator, publisher: publisher, log: log, reads: reads, recallWindow: recallWindow)
        self.likes = CommentLikes(likers: likers, log: log, likes: likes, publisher: publisher)
        self.reports = CommentReports(
            authenticator: authenticator, limit: configuration.reportLimit, log: log, reads: reads, videos: videos, reports: reports,
            moderation: moderation, records: records, publisher: publisher)
        self.videos = VideoPools(
            configuration: configuration, authenticator: authenticator, admission: admission, videos: videos, replay: replay,
            idempotency: idempotentPosts, likers: likers, recallWindow: recallWindow, metrics: metrics)
        self.transfer = VideoPoolTransfer(videos: videos, authenticator: authenticator, configuration: configuration)
        self.rooms = RoomQueries(log: log, online: online)
        self.viewers = ViewerGateway(authenticator: authenticator, posts: posts, immediatePosts: immediatePosts, reads: reads)
        self.words = words
        self.moderation = moderation
        self.records = records
        self.online = online
        self.replay = replay
        self.reads = reads
    }
}
