import DanmakuAuth
import DanmakuServer
import DanmakuTestSupport
import Foundation
import Testing

/// Every number a room's staff sets (room settings, bans), at its extremes, on the memory bus and on
/// Redis: a value out of range is a 400 naming its field and changes nothing; one in range is
/// enforced, and the posts it refuses name a sane `Retry-After`. None may take the node down.
@Suite(.serialized) struct StaffNumberTests {
    enum Bus: String, CaseIterable, Sendable { case memory, redis }

    static let secret = AuthTests.secret

    /// A server on `bus` (on Redis: a redis-server of its own) for `body`, and the staff token of
    /// room `stage`.
    func withNode(_ bus: Bus, _ body: (Int, String, RedisServer?) async throws -> Void) async throws {
        let streamer = "Bearer " + (try await TokenIssuer.sign(
            DanmakuClaims(user: "star", name: "star", role: .streamer, expires: Date().addingTimeInterval(600), rooms: ["stage"]),
            secret: Self.secret))
        switch bus {
        case .memory:
            try await withServer({ $0.jwtSecret = Self.secret }) { _, port in try await body(port, streamer, nil) }
        case .redis:
            try await RedisServer.with { redis in
                try await withServer({
                    $0.jwtSecret = Self.secret
                    $0.bus = BusChoice(redis.url)!
                }) { _, port in try await body(port, streamer, redis) }
            }
        }
    }

    func viewer(_ user: String) async throws -> String {
        "Bearer " + (try await TokenIssuer.sign(
            DanmakuClaims(user: user, name: user, role: .viewer, expires: Date().addingTimeInterval(600)), secret: Self.secret))
    }

    func post(_ port: Int, as user: String) async throws -> HTTPReply {
        try await jsonRequest(port: port, "POST", "/v1/rooms/stage/comments", authorization: try await viewer(user), #"{"text":"hi"}"#)
    }

    /// The Retry-After of `reply`, which must be there, as an integer within `range`.
    func expectRetryAfter(_ reply: HTTPReply, in range: ClosedRange<Int>, _ what: String) {
        let value = reply.headers["retry-after"].flatMap { Int($0) }
        #expect(value.map(range.contains) == true, "\(what): Retry-After \(reply.headers["retry-after"] ?? "missing") not in \(range)")
    }

    static let twoTo63 = "9223372036854775808"

    @Test(arguments: Bus.allCases) func outOfRangeSettingsAreRefusedByName(bus: Bus) async throws {
        try await withNode(bus) { port, streamer, _ in
            let refused: [(field: String, values: [String])] = [
                ("slowModeSeconds", ["-1", "1e308", "1e-300", Self.twoTo63, "1.5", #""NaN""#, #""inf""#, "3601", "null", #""30""#]),
                ("displayPerSecond", ["0", "-1", "1e308", "1e-300", Self.twoTo63, "1.5", #""NaN""#, #""inf""#, "10001", "true"]),
                ("rate", [
                    #""1e-20/1""#, #""1e-300/1""#, #""0/1""#, #""-1/1""#, #""NaN/1""#, #""nan""#, #""inf""#, #""inf/1""#, #""1/inf""#,
                    #""1e308/1""#, #""1/1e308""#, #""100001/1""#, #""1/1000001""#, #""1/0""#, #""1/0.5""#, "5", "1e308",
                ]),
                ("stylesFor", ["1", #""all""#, "null"]),
                ("mergeRepeats", [#""yes""#, "1"]),
            ]
            for (field, values) in refused {
                for value in values {
                    for method in ["PUT", "PATCH"] {
                        let reply = try await jsonRequest(port: port, method, "/v1/rooms/stage/settings", authorization: streamer, #"{"\#(field)":\#(value)}"#)
                        #expect(reply.status == 400 && reply.errorCode == "invalid_\(field)", "\(method) \(field): \(value) answered \(reply)")
                    }
                }
            }
            let unchanged = try await jsonRequest(port: port, "GET", "/v1/rooms/stage/settings", authorization: nil)
            #expect(unchanged.json["slowModeSeconds"] as? Int == 0 && unchanged.json["rate"] == nil, "refusals change nothing: \(unchanged)")

            for value in ["0", "-1", "1e308", "1e-300", Self.twoTo63, "1.5", #""NaN""#, #""inf""#, "2592001", "null"] {
                let reply = try await jsonRequest(port: port, "POST", "/v1/rooms/stage/bans", authorization: streamer, #"{"user":"fan","seconds":\#(value)}"#)
                #expect(reply.status == 400 && reply.errorCode == "invalid_seconds", "ban seconds \(value) answered \(reply)")
            }
            #expect(try await post(port, as: "fan").status == 201, "the node is up and nothing was set")
        }
    }

    @Test(arguments: Bus.allCases) func extremeSettingsInRangeAreEnforcedWithSaneWaits(bus: Bus) async throws {
        try await withNode(bus) { port, streamer, _ in
            func set(_ json: String) async throws {
                let reply = try await jsonRequest(port: port, "PUT", "/v1/rooms/stage/settings", authorization: streamer, json)
                #expect(reply.status == 200, "\(json): \(reply)")
            }
            // The slowest room rate: one comment per 1,000 s.
            try await set(#"{"rate":"0.001/1"}"#)
            #expect(try await post(port, as: "a").status == 201)
            let slowest = try await post(port, as: "b")
            #expect(slowest.status == 429 && slowest.errorCode == "rate_limited", "\(slowest)")
            expectRetryAfter(slowest, in: 990...1000, "the slowest rate")

            // The fastest: nothing a test can send is refused.
            try await set(#"{"rate":"100000/1000000","displayPerSecond":10000}"#)
            for user in ["c", "d", "e"] { #expect(try await post(port, as: user).status == 201) }

            // The longest slow mode.
            try await set(#"{"rate":null,"slowModeSeconds":3600,"displayPerSecond":1}"#)
            #expect(try await post(port, as: "f").status == 201)
            let slow = try await post(port, as: "f")
            #expect(slow.status == 429 && slow.errorCode == "slow_mode", "\(slow)")
            expectRetryAfter(slow, in: 3590...3600, "the longest slow mode")

            // The longest ban.
            let ban = try await jsonRequest(port: port, "POST", "/v1/rooms/stage/bans", authorization: streamer, #"{"user":"g","seconds":2592000}"#)
            #expect(ban.status == 200 && ban.json["bannedSeconds"] as? Int == 2_592_000, "\(ban)")
            let banned = try await post(port, as: "g")
            #expect(banned.status == 403 && banned.errorCode == "banned", "\(banned)")
            expectRetryAfter(banned, in: 2_591_990...2_592_000, "the longest ban")
        }
    }

    /// Settings written into Redis by something else (another version, by hand) are read with the
    /// same bounds: the node neither traps on them nor names an absurd wait.
    @Test func outOfRangeSettingsInRedisAreReadAsUnsetOrClamped() async throws {
        try await withNode(.redis) { port, _, redis in
            let redis = try #require(redis)
            let key = "danmaku:{stage}:settings"
            for (rate, burst) in [("1e-20", "1"), ("nan", "1"), ("inf", "inf"), ("1", "1e308"), ("-1", "1")] {
                _ = try await redis.command(["DEL", "danmaku:{stage}:bucket"])
                _ = try await redis.command(["HSET", key, "slow", "0", "rate", rate, "burst", burst, "display", "99999999999999999999"])
                for user in ["h", "i"] {
                    let reply = try await post(port, as: user)
                    #expect(reply.status == 201, "rate \(rate)/\(burst) in Redis counts as none: \(reply)")
                }
                let read = try await jsonRequest(port: port, "GET", "/v1/rooms/stage/settings", authorization: nil)
                #expect(read.status == 200 && read.json["rate"] == nil && read.json["displayPerSecond"] == nil, "\(read)")
            }
            _ = try await redis.command(["HSET", key, "slow", "1e308", "rate", "0", "burst", "0"])
            #expect(try await post(port, as: "j").status == 201)
            let slow = try await post(port, as: "j")
            #expect(slow.status == 429 && slow.errorCode == "slow_mode", "\(slow)")
            expectRetryAfter(slow, in: 3590...3600, "a slow mode past its bound is clamped")
            // A bucket far below zero, last filled in the far future, still answers a wait within
            // the bound (an empty bucket at the slowest rate: 1,000 s).
            _ = try await redis.command(["HSET", key, "slow", "0", "rate", "0.001", "burst", "1"])
            _ = try await redis.command(["HSET", "danmaku:{stage}:bucket", "tokens", "-1e300", "ts", "1e300"])
            let rate = try await post(port, as: "k")
            #expect(rate.status == 429 && rate.errorCode == "rate_limited", "\(rate)")
            expectRetryAfter(rate, in: 990...1000, "a corrupt bucket")
        }
    }

    @Test(arguments: Bus.allCases) func settingsUpdatesMerge(bus: Bus) async throws {
        try await withNode(bus) { port, streamer, _ in
            func update(_ method: String, _ json: String) async throws -> HTTPReply {
                let reply = try await jsonRequest(port: port, method, "/v1/rooms/stage/settings", authorization: streamer, json)
                #expect(reply.status == 200, "\(method) \(json): \(reply)")
                return reply
            }
            _ = try await update("PUT", #"{"slowModeSeconds":5,"rate":"5/10","displayPerSecond":60,"stylesFor":"staff","mergeRepeats":true}"#)
            // What the dashboard's form sends: one field. The others keep their values.
            let slowOnly = try await update("PUT", #"{"slowModeSeconds":30}"#)
            #expect(slowOnly.json["slowModeSeconds"] as? Int == 30)
            #expect(slowOnly.json["stylesFor"] as? String == "staff" && slowOnly.json["mergeRepeats"] as? Bool == true, "\(slowOnly)")
            #expect(slowOnly.json["rate"] as? String == "5/10" && slowOnly.json["displayPerSecond"] as? Int == 60, "\(slowOnly)")
            let patched = try await update("PATCH", #"{"displayPerSecond":120}"#)
            #expect(patched.json["displayPerSecond"] as? Int == 120 && patched.json["slowModeSeconds"] as? Int == 30, "\(patched)")
            // An explicit null clears an optional setting; an empty body changes nothing.
            let cleared = try await update("PATCH", #"{"rate":null,"mergeRepeats":null,"displayPerSecond":null}"#)
            #expect(cleared.json["rate"] == nil && cleared.json["mergeRepeats"] == nil && cleared.json["displayPerSecond"] == nil, "\(cleared)")
            #expect(cleared.json["stylesFor"] as? String == "staff" && cleared.json["slowModeSeconds"] as? Int == 30, "\(cleared)")
            _ = try await update("PUT", "{}")
            let read = try await jsonRequest(port: port, "GET", "/v1/rooms/stage/settings", authorization: nil)
            #expect(read.json["stylesFor"] as? String == "staff" && read.json["slowModeSeconds"] as? Int == 30, "\(read)")
        }
    }
}
