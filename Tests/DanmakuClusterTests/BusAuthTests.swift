import DanmakuTestSupport
import Foundation
import Testing

extension DistributedModeTests {
    /// `danmaku serve` against a Redis server that requires a login, as an operator runs it.
    @Suite struct BusAuthTests {
        @Test func theBusPasswordComesFromTheEnvironmentAndPostsFlow() async throws {
            try await RedisServer.with { server in
                _ = try await server.command(["ACL", "SETUSER", "danmaku", "on", ">s3cret", "~*", "&*", "+@all"])
                // The password is not on the command line, where process listings would show it.
                let node = try await DanmakuNode.start(
                    ["--bus", "redis://danmaku@127.0.0.1:\(server.port)"], environment: ["DANMAKU_BUS_PASSWORD": "s3cret"])
                let viewer = try await TestViewer.join(port: node.port, room: "acl")
                #expect(try await postComment(port: node.port, room: "acl", json: #"{"text":"logged in"}"#).status == 201)
                try await viewer.waitForComments(1)
                await node.stop()
            }
        }

        @Test func aClusterThatRequiresAPasswordIsLoggedIntoOnEveryMaster() async throws {
            try await RedisCluster.with(password: "cluster-s3cret") { redis in
                let rooms = try await RedisClusterModeTests.rooms(spreadOver: redis, perMaster: 1)
                let node = try await DanmakuNode.start(
                    ["--bus", "redis://127.0.0.1:\(redis.servers[0].port)"] + Cluster.wideLimits, environment: ["DANMAKU_BUS_PASSWORD": "cluster-s3cret"])
                for room in rooms {
                    let viewer = try await TestViewer.join(port: node.port, room: room)
                    #expect(try await postComment(port: node.port, room: room, json: #"{"text":"logged in"}"#).status == 201, "a room on each master")
                    try await viewer.waitForComments(1)
                    await viewer.close()
                }
                await node.stop()
            }
        }

        @Test func aClusterSpeakingOnlyTLSIsReachedOnEveryMasterWithTheCAGiven() async throws {
            let certificates = try TestCertificates.make()
            try await RedisCluster.with(tls: certificates) { redis in
                let rooms = try await RedisClusterModeTests.rooms(spreadOver: redis, perMaster: 1)
                let node = try await DanmakuNode.start(["--bus", redis.url, "--bus-tls-ca", certificates.caFile] + Cluster.wideLimits)
                for room in rooms {
                    let viewer = try await TestViewer.join(port: node.port, room: room)
                    #expect(try await postComment(port: node.port, room: room, json: #"{"text":"encrypted"}"#).status == 201, "a room on each master")
                    try await viewer.waitForComments(1)
                    await viewer.close()
                }
                // Every connection the node holds to the cluster is TLS: the masters' plain ports saw none.
                for port in try await redis.masterPorts() {
                    let clients = try await redis.cli(["-p", String(port), "client", "list"])
                    let plain = clients.split(separator: "\n").filter { $0.contains("laddr=127.0.0.1:\(port)") && !$0.contains("cmd=client") }
                    #expect(plain.isEmpty, "plain connections to \(port): \(plain)")
                }
                await node.stop()
            }
        }

        @Test func aWrongPasswordIsAStartupErrorNotARetryLoop() async throws {
            try await RedisServer.with { server in
                _ = try await server.command(["ACL", "SETUSER", "danmaku", "on", ">s3cret", "~*", "&*", "+@all"])
                let process = Process()
                process.executableURL = DanmakuNode.executable
                process.arguments = ["serve", "--port", "0", "--bus", "redis://danmaku:wrong@127.0.0.1:\(server.port)"]
                let errors = Pipe()
                process.standardError = errors
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                let status = try await DanmakuNode.waitForExit(process, timeout: .seconds(10))
                #expect(status != 0)
                let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                #expect(said.contains("WRONGPASS"), "\(said)")
                #expect(!said.contains("wrong@"), "the password is never printed")
            }
        }

        @Test func aNodeTalksToRedisOverTLSWithTheCAItIsGiven() async throws {
            let certificates = try TestCertificates.make()
            let tlsPort = try RedisServer.freePort()
            try await RedisServer.with(extraArguments: certificates.redisArguments(tlsPort: tlsPort)) { _ in
                let node = try await DanmakuNode.start(["--bus", "rediss://127.0.0.1:\(tlsPort)", "--bus-tls-ca", certificates.caFile])
                let viewer = try await TestViewer.join(port: node.port, room: "tls")
                #expect(try await postComment(port: node.port, room: "tls", json: #"{"text":"encrypted"}"#).status == 201)
                try await viewer.waitForComments(1)
                await node.stop()
            }
        }
    }
}
