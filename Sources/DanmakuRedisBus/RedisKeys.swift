// Danmaku — a live-stream bullet-comment service.

import DanmakuBus
import DanmakuCore
import DanmakuRedis

/// Names of a room's keys and channel in Redis.
///
/// The room id is in braces, a hash tag: on a Redis Cluster a room's counter, stream and channel
/// share one slot, so the scripts may touch them together and `SPUBLISH` goes to that shard.
struct RedisKeys {
    /// Counter holding the room's last seq.
    let seq: String
    /// Stream of the room's comments, entry id `seq-0`, trimmed to about the history length.
    let log: String
    /// Sharded pub/sub channel carrying batches of the room's new comments.
    let channel: String
    /// When the room's current numbering started (ms): its epoch.
    let epoch: String
    /// Counter numbering the room's retractions (and withdrawals) 1, 2, 3…: a push node that
    /// sees it above the last retraction it was told of has missed one.
    let retractionCount: String
    /// Stream of the room's latest retractions, entry id `n-0` for the counter's `n`, field `r`
    /// the line published for it; trimmed to about `RedisScripts.retractionsKept`.
    let retractions: String
    /// The same lines in a sorted set scored by the comment's seq, for resumes (which want the
    /// retractions before a seq); the lowest seqs past `RedisScripts.retractionsKept` go.
    let retractedBySeq: String

    init(_ room: RoomID) {
        seq = "danmaku:{\(room.value)}:seq"
        log = "danmaku:{\(room.value)}:log"
        channel = "danmaku:{\(room.value)}:live"
        epoch = "danmaku:{\(room.value)}:epoch"
        retractionCount = "danmaku:{\(room.value)}:rseq"
        retractions = "danmaku:{\(room.value)}:retracts"
        retractedBySeq = "danmaku:{\(room.value)}:retracted"
    }

    /// The keys that make up the room's numbering and history, which live and expire together
    /// (`RedisScripts.append` gives each the room's idle lifetime; the first three are the
    /// snapshot's).
    var numbering: [String] { [seq, log, epoch, retractionCount, retractions, retractedBySeq] }

    /// `RedisScripts.admit`'s keys for `user`'s post: the ban, the room's settings, the user's
    /// last-post mark (slow mode), the room's token bucket.
    static func admission(_ room: RoomID, user: String) -> [String] {
        [ban(room, user: user), settings(room), lastPost(room, user: user), bucket(room)]
    }

    static func ban(_ room: RoomID, user: String) -> String { "danmaku:{\(room.value)}:ban:\(user)" }
    static func settings(_ room: RoomID) -> String { "danmaku:{\(room.value)}:settings" }
    static func lastPost(_ room: RoomID, user: String) -> String { "danmaku:{\(room.value)}:last:\(user)" }
    static func bucket(_ room: RoomID) -> String { "danmaku:{\(room.value)}:bucket" }

    /// The retraction scripts' keys after the stream: counter, retraction stream, by seq.
    var retractionRecord: [String] { [retractionCount, retractions, retractedBySeq] }

    /// The room of a channel name made by `init`.
    static func room(ofChannel name: String) -> RoomID? {
        guard name.hasPrefix("danmaku:{"), name.hasSuffix("}:live") else { return nil }
        return RoomID(String(name.dropFirst("danmaku:{".count).dropLast("}:live".count)))
    }
}

/// The Lua scripts the bus runs; each is atomic on the server.
enum RedisScripts {
    /// Numbers a comment and stores it: INCR the counter, prefix the JSON with its seq, XADD it
    /// with id `seq-0` (so ids follow seqs) trimming to about ARGV[2] entries. A numbering that
    /// starts (seq 1, or a room from before epochs) gets an epoch, never the previous one; with
    /// ARGV[3] (ms) the room's keys expire that long after its last post. Returns the seq.
    static let append = appendFunction + "\n" + """
        return append(KEYS, ARGV[1], ARGV[2], ARGV[3])
        """

    /// `append`'s body as a Lua function of the numbering's keys (`RedisKeys.numbering`), the
    /// unnumbered JSON, the history's length and the idle lifetime: shared by `append` and
    /// `admitAndAppend`.
    static let appendFunction = """
        local function append(keys, unnumbered, capacity, idle)
            local seq = redis.call('INCR', keys[1])
            if seq == 1 or redis.call('EXISTS', keys[3]) == 0 then
                local time = redis.call('TIME')
                local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
                local previous = tonumber(redis.call('GET', keys[3]) or '0') or 0
                redis.call('SET', keys[3], string.format('%d', math.max(now, previous + 1)))
            end
            local json = '{"seq":' .. seq .. ',' .. string.sub(unnumbered, 2)
            redis.call('XADD', keys[2], 'MAXLEN', '~', capacity, seq .. '-0', 'c', json)
            if idle ~= '' then
                for _, key in ipairs(keys) do redis.call('PEXPIRE', key, idle) end
            end
            return seq
        end
        """

    /// May a user post? KEYS: ban key, settings hash, the user's last-post key, the room's token
    /// bucket; ARGV[1] '1' when the comment is styled and its author is not the room's staff.
    /// Returns {'banned', ms left}, {'style', 0} (the room keeps styles for its staff),
    /// {'slow', ms left} or {'rate', ms until a token}, or {'ok', 0} after recording the post
    /// (slow mode, bucket). Nothing is recorded for a refusal.
    ///
    /// The settings are read with the bounds `RoomSettings` checks on the way in (a value outside
    /// them, NaN included, counts as unset, a slow mode is clamped), and every wait and lifetime
    /// is clamped to 30 days (`RetryAfter.maxSeconds`), so no answer or `PX` argument can overflow.
    static let admit = admitFunction + "\n" + """
        return admit(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
        """

    /// `admit`'s body as a Lua function of its four keys and the styled flag: shared by `admit`
    /// and `admitAndAppend`.
    static let admitFunction = """
        local function admit(banKey, settingsKey, lastKey, bucketKey, styled)
            local longest = \(RetryAfter.maxSeconds * 1000)
            local ban = redis.call('PTTL', banKey)
            if ban > 0 then return {'banned', math.min(ban, longest)} end
            local settings = redis.call('HMGET', settingsKey, 'slow', 'rate', 'burst', 'styles')
            if styled == '1' and settings[4] == 'staff' then return {'style', 0} end
            local slow = tonumber(settings[1] or '0') or 0
            local rate = tonumber(settings[2] or '0') or 0
            local burst = tonumber(settings[3] or '0') or 0
            if not (slow > 0) then slow = 0 else slow = math.min(math.floor(slow), \(RoomSettings.maxSlowModeSeconds)) end
            if not (rate >= \(RateLimit.minPerSecond) and rate <= \(RoomSettings.maxRoomRate.perSecond) and burst >= 1 and burst <= \(RoomSettings.maxRoomRate.burst)) then
                rate = 0
            end
            if slow > 0 then
                local left = redis.call('PTTL', lastKey)
                if left > 0 then return {'slow', math.min(left, longest)} end
            end
            local tokens, now
            if rate > 0 then
                local time = redis.call('TIME')
                now = tonumber(time[1]) + tonumber(time[2]) / 1000000
                local bucket = redis.call('HMGET', bucketKey, 'tokens', 'ts')
                tokens = tonumber(bucket[1] or '') or burst
                if not (tokens >= 0) then tokens = 0 end
                local since = tonumber(bucket[2] or '') or now
                if not (since <= now) then since = now end
                tokens = math.min(burst, tokens + (now - since) * rate)
                if tokens < 1 then return {'rate', math.min(math.ceil((1 - tokens) / rate * 1000), longest)} end
            end
            if slow > 0 then redis.call('SET', lastKey, '1', 'PX', slow * 1000) end
            if rate > 0 then
                redis.call('HSET', bucketKey, 'tokens', tostring(tokens - 1), 'ts', tostring(now))
                redis.call('PEXPIRE', bucketKey, math.min(math.ceil(burst / rate * 1000) + 1000, longest))
            end
            return {'ok', 0}
        end
        """

    /// `admit` and, when it says ok, `append`, in one call (one round trip a post instead of
    /// two): KEYS[1...4] are admit's, the rest the numbering's (`RedisKeys.numbering`); ARGV[1] is
    /// admit's, ARGV[2...4] append's. Returns admit's refusal (nothing recorded), or {'ok', seq}.
    static let admitAndAppend = admitFunction + "\n" + appendFunction + "\n" + """
        local verdict = admit(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
        if verdict[1] ~= 'ok' then return verdict end
        local numbering = {}
        for index = 5, #KEYS do numbering[#numbering + 1] = KEYS[index] end
        return {'ok', append(numbering, ARGV[2], ARGV[3], ARGV[4])}
        """

    /// Undoes an `admit` that said ok: KEYS are the settings hash, the user's last-post key and
    /// the room's token bucket. Deletes the slow-mode mark, gives the bucket its token back.
    static let refund = """
        redis.call('DEL', KEYS[2])
        local burst = tonumber(redis.call('HGET', KEYS[1], 'burst') or '0') or 0
        local tokens = tonumber(redis.call('HGET', KEYS[3], 'tokens') or '')
        if tokens and burst > 0 then
            redis.call('HSET', KEYS[3], 'tokens', tostring(math.min(burst, tokens + 1)))
        end
        return 1
        """

    /// The JSON of the comment marked ARGV[1] (`EncodedComment.idMarker`) in stream KEYS[1], or
    /// nil. Reads the stream newest first, a hundred entries at a time, and stops at the match:
    /// only that entry leaves Redis, and a recent comment costs one step.
    static let find = """
        local cursor = '+'
        while true do
            local entries = redis.call('XREVRANGE', KEYS[1], cursor, '-', 'COUNT', 100)
            for _, entry in ipairs(entries) do
                if string.find(entry[2][2], ARGV[1], 1, true) then return entry[2][2] end
            end
            if #entries < 100 then return false end
            cursor = '(' .. entries[#entries][1]
        end
        """

    /// Retractions kept per room, for push nodes that missed their publish and for resuming
    /// viewers (about: the stream is trimmed with `~`; resumes read at most this many).
    static let retractionsKept = RetractedComment.remembered

    /// The part of the retraction scripts that tells push nodes, in the same step as the
    /// deletion: numbers the retraction (INCR KEYS[2], above the stream's last entry should the
    /// counter have been lost), keeps its line in stream KEYS[3] (id `n-0`, trimmed to about
    /// `retractionsKept`) and sorted set KEYS[4] (scored by seq, the same length), with the
    /// history's lifetime, and publishes it on channel `channel`. The line is a
    /// `RetractionLine`; `seq` is a string of digits, `fields` more fields (`,"name":value`
    /// or empty) in alphabetical order between `n` and `seq`.
    private static func record(id: String, seq: String, fields: String, channel: String) -> String {
        """
        local n = redis.call('INCR', KEYS[2])
        local top = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)[1]
        if top then
            local last = tonumber(string.match(top[1], '^(%d+)')) or 0
            if last >= n then
                n = last + 1
                redis.call('SET', KEYS[2], string.format('%d', n), 'KEEPTTL')
            end
        end
        local line = '{"id":' .. cjson.encode(\(id)) .. ',"n":' .. string.format('%d', n) .. \(fields) .. ',"seq":' .. \(seq) .. ',"type":"retract"}'
        redis.call('XADD', KEYS[3], 'MAXLEN', '~', \(retractionsKept), string.format('%d', n) .. '-0', 'r', line)
        redis.call('ZADD', KEYS[4], \(seq), line)
        local extra = redis.call('ZCARD', KEYS[4]) - \(retractionsKept)
        if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[4], 0, extra - 1) end
        local lifetime = redis.call('PTTL', KEYS[1])
        if lifetime > 0 then
            for index = 2, 4 do redis.call('PEXPIRE', KEYS[index], lifetime) end
        end
        redis.call('SPUBLISH', \(channel), line)
        """
    }

    /// Takes the comment or notice marked ARGV[1] or ARGV[2] (`EncodedComment.idMarker`,
    /// `noticeIDMarker`) out of stream KEYS[1], and tells push nodes of its retraction (id
    /// ARGV[4], with reason ARGV[5] unless it is empty, on the room's channel ARGV[3]; KEYS[2] to
    /// KEYS[4] are the room's `RedisKeys.retractionRecord`) in the same step: a deletion whose
    /// answer is lost on the way back, or whose node fails before a publish of its own, still
    /// reaches the push nodes, and a push node that misses the publish reads it back
    /// (`RedisFeeds`). Returns its seq, or 0 when the stream does not hold it.
    ///
    /// With ARGV[6] '1' (the node waits for replicas, `--bus-min-replicas`), a comment the stream
    /// no longer holds because the room's record has its retraction (`{"id":ID,…}` in KEYS[4]) is
    /// answered with that retraction's seq, and the counter KEYS[2] is written again: the retry of
    /// a retraction whose replicas did not confirm it is confirmed by the `WAIT` behind it (the
    /// write puts the script in the replication stream, after the first retraction), instead of
    /// being answered "not found" while the retraction may still be undone by a failover.
    static let retract = """
        local entries = redis.call('XRANGE', KEYS[1], '-', '+')
        for _, entry in ipairs(entries) do
            if string.find(entry[2][2], ARGV[1], 1, true) or string.find(entry[2][2], ARGV[2], 1, true) then
                redis.call('XDEL', KEYS[1], entry[1])
                local seq = string.match(entry[1], '^(%d+)')
                local reason = ''
                if ARGV[5] ~= '' then reason = ',"reason":' .. cjson.encode(ARGV[5]) end
        \(record(id: "ARGV[4]", seq: "seq", fields: "reason", channel: "ARGV[3]"))
                return tonumber(seq)
            end
        end
        if ARGV[6] == '1' then
            local mark = '{"id":' .. cjson.encode(ARGV[4]) .. ','
            for _, line in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
                if string.sub(line, 1, #mark) == mark then
                    local count = redis.call('GET', KEYS[2])
                    if count then redis.call('SET', KEYS[2], count, 'KEEPTTL') end
                    return tonumber(string.match(line, ',"seq":(%d+)')) or 0
                end
            end
        end
        return 0
        """

    /// Records that a failover lost a comment a push node passed on (`RedisFeeds.verifyRecent`):
    /// KEYS are the room's stream, its `RedisKeys.retractionRecord` and its counter and epoch;
    /// ARGV[1] the seq, ARGV[2] the comment's `EncodedComment.idMarker`, ARGV[3] the room's
    /// channel, ARGV[4] the comment's id, ARGV[5] the epoch the seq belongs to. The node's own
    /// viewers are told at once; recorded, the retraction (reason `lost`) also reaches the other
    /// push nodes, whose viewers may have been shown the comment from history or on an earlier
    /// connection, and viewers that resume with `since` later. Nothing is recorded when the
    /// numbering is another one, when the stream holds the comment at its seq (it is not lost), or
    /// when the record already has a retraction of it at that seq (another push node, or its
    /// author, was first). Like `withdraw`, a counter below the seq is raised to it. Returns 1
    /// when it was recorded.
    static let recordLost = """
        if redis.call('GET', KEYS[6]) ~= ARGV[5] then return 0 end
        local id = ARGV[1] .. '-0'
        local entry = redis.call('XRANGE', KEYS[1], id, id)[1]
        local flag = ',"reason":"lost"'
        if entry then
            if string.find(entry[2][2], ARGV[2], 1, true) then return 0 end
            flag = flag .. ',"reused":true'
        else
            local last = tonumber(redis.call('GET', KEYS[5]) or '')
            if last and last < tonumber(ARGV[1]) then redis.call('SET', KEYS[5], ARGV[1], 'KEEPTTL') end
        end
        local mark = '{"id":' .. cjson.encode(ARGV[4]) .. ','
        for _, line in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[1], ARGV[1])) do
            if string.sub(line, 1, #mark) == mark then return 0 end
        end
        \(record(id: "ARGV[4]", seq: "ARGV[1]", fields: "flag", channel: "ARGV[3]"))
        return 1
        """

    /// Takes back an unconfirmed comment: KEYS are the room's stream, its
    /// `RedisKeys.retractionRecord` and its seq counter; ARGV[1] the comment's seq, ARGV[2] its
    /// `EncodedComment.idMarker`, ARGV[3] the room's channel, ARGV[4] the comment's id. Deletes the
    /// stream entry with that seq if it is this comment. A master promoted in a failover may not
    /// hold the comment: if its counter is below the seq, it is raised to it, so that no later
    /// comment takes the seq; if it already numbered another comment with the seq, that one
    /// stays. Either way push nodes are told, as by `retract` (a push node may have shown the
    /// comment), with `reused` when another comment holds the seq. Returns 1 when the seq stays
    /// unused, 0 when another comment holds it.
    static let withdraw = """
        local id = ARGV[1] .. '-0'
        local entry = redis.call('XRANGE', KEYS[1], id, id)[1]
        local reused = 0
        if entry then
            if string.find(entry[2][2], ARGV[2], 1, true) then
                redis.call('XDEL', KEYS[1], id)
            else
                reused = 1
            end
        else
            local last = tonumber(redis.call('GET', KEYS[5]) or '')
            if last and last < tonumber(ARGV[1]) then redis.call('SET', KEYS[5], ARGV[1], 'KEEPTTL') end
        end
        local flag = ''
        if reused == 1 then flag = ',"reused":true' end
        \(record(id: "ARGV[4]", seq: "ARGV[1]", fields: "flag", channel: "ARGV[3]"))
        return 1 - reused
        """

    /// Raises the room's counter KEYS[1] to ARGV[1] if it exists, is below it, and the room's
    /// numbering is still epoch ARGV[2] (KEYS[2]): a master promoted in a failover that lacks the
    /// last comments numbered, while a push node was given seqs up to ARGV[1] in that numbering,
    /// and a new comment must not take one of them. A counter that is gone stays gone, and a
    /// numbering that started over is left alone. Returns 1 when it was raised.
    static let raiseCounter = """
        local last = tonumber(redis.call('GET', KEYS[1]) or '')
        if last and redis.call('GET', KEYS[2]) == ARGV[2] and last < tonumber(ARGV[1]) then
            redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
            return 1
        end
        return 0
        """

    /// A consistent history read: {lastSeq, first seq still held, entries, epoch, retracted}.
    /// KEYS are `RedisKeys.numbering`. ARGV[1] is `since` ('' for the latest ARGV[2] entries,
    /// newest first), ARGV[2] the most entries, ARGV[3] the history's length, ARGV[4] '1' for a
    /// resume: then `retracted` holds the lines of the retractions (KEYS[6]) of comments at or
    /// before `since`, within the history's length of it (`RetractedComment.isBefore`), the
    /// highest seqs first, at most `RetractedComment.replayed`.
    static let snapshot = """
        local epoch = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
        local last = tonumber(redis.call('GET', KEYS[1]) or '0')
        local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
        local firstSeq = last + 1
        if first[1] then firstSeq = tonumber(string.match(first[1][1], '^(%d+)')) end
        local entries
        if ARGV[1] == '' then
            entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])
        else
            entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
        end
        local retracted = {}
        if ARGV[1] ~= '' and ARGV[4] == '1' then
            local floor = tonumber(ARGV[1]) - tonumber(ARGV[3])
            retracted = redis.call('ZREVRANGEBYSCORE', KEYS[6], ARGV[1], '(' .. string.format('%d', floor), 'LIMIT', 0, \(RetractedComment.replayed))
        end
        return {last, firstSeq, entries, epoch, retracted}
        """
}

extension RESPValue {
    /// Stream entries (`[[id, [field, value, …]], …]`) as comments of `room`.
    func streamComments(room: RoomID) throws -> [EncodedComment] {
        guard let entries = array else { throw RedisError.unexpectedReply("stream entries: \(self)") }
        return try entries.map { entry in
            guard let parts = entry.array, parts.count == 2, let fields = parts[1].array, fields.count >= 2,
                  let json = fields[1].bytes, let comment = EncodedComment(numberedJSON: json, room: room)
            else { throw RedisError.unexpectedReply("stream entry: \(entry)") }
            return comment
        }
    }
}

extension RedisScripts {
    /// The salt at KEYS[1] when it is one (a string of 16 bytes or more); else ARGV[1], stored there.
    static let anonymousSalt = """
        local current = redis.pcall('GET', KEYS[1])
        if type(current) == 'string' and #current >= 16 then return current end
        redis.call('DEL', KEYS[1])
        redis.call('SET', KEYS[1], ARGV[1])
        return ARGV[1]
        """
}
