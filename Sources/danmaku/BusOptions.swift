// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuRedis
import DanmakuServer
import NIOCore

/// `serve`'s options for the bus: which one, how to log in to Redis and over what, and how long a
/// command may take.
struct BusOptions: ParsableArguments {
    @Option(help: "Bus between the roles: memory (one process) or redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]: one Redis server or any node of a Redis Cluster; redis-sentinel://HOST:PORT[,HOST:PORT…]/MASTER for the primary Sentinels name (password also from DANMAKU_BUS_PASSWORD).")
    var bus = "memory"

    @Option(help: "CA certificate (PEM) that signed the Redis server's certificate, for rediss:// (default: the system's roots).")
    var busTlsCa: String?

    @Option(help: "Client certificate (PEM) for a Redis server that authenticates clients over TLS.")
    var busTlsCert: String?

    @Option(help: "Private key (PEM) of --bus-tls-cert.")
    var busTlsKey: String?

    @Option(name: .customLong("bus-timeout-ms"), help: "How long a Redis command may take before it fails and the connection is renewed, ms.")
    var busTimeoutMilliseconds = Int(ServerConfiguration().busTimeout.nanoseconds / 1_000_000)

    @Option(help: "Replicas that must confirm a comment (Redis WAIT) before it is answered 201; unconfirmed ones are taken back and answered 503. 0: do not wait.")
    var busMinReplicas = ServerConfiguration().busMinReplicas

    @Option(name: .customLong("bus-replica-timeout-ms"), help: "How long a post waits for --bus-min-replicas confirmations, ms.")
    var busReplicaTimeoutMilliseconds = Int(ServerConfiguration().busReplicaTimeout.nanoseconds / 1_000_000)

    /// The bus named by `--bus`, with the password from `DANMAKU_BUS_PASSWORD` (which process
    /// listings do not show) when the URL has none, and the `--bus-tls-*` files.
    func choice(environment: [String: String]) throws -> BusChoice {
        guard let choice = BusChoice(bus) else {
            throw ValidationError("--bus must be memory, redis://[USER[:PASSWORD]@]HOST[:PORT][/DB], rediss://… or redis-sentinel://HOST:PORT[,HOST:PORT…]/MASTER[/DB]")
        }
        let tlsFiles = busTlsCa != nil || busTlsCert != nil || busTlsKey != nil
        guard case .redis(var address) = choice else {
            if tlsFiles { throw ValidationError("--bus-tls-* need a rediss:// bus") }
            return choice
        }
        if address.password == nil, let password = environment["DANMAKU_BUS_PASSWORD"], !password.isEmpty {
            address.password = password
        }
        if tlsFiles {
            guard address.tls != nil else { throw ValidationError("--bus-tls-* need a rediss:// bus") }
            guard (busTlsCert == nil) == (busTlsKey == nil) else { throw ValidationError("--bus-tls-cert and --bus-tls-key go together") }
            address.tls = RedisTLS(caFile: busTlsCa, certificateFile: busTlsCert, keyFile: busTlsKey)
        }
        return .redis(address)
    }

    /// `--bus-min-replicas` and `--bus-replica-timeout-ms`, checked.
    func replication() throws -> (replicas: Int, timeout: TimeAmount) {
        guard (0...16).contains(busMinReplicas) else { throw ValidationError("--bus-min-replicas must be 0...16") }
        guard (1...60_000).contains(busReplicaTimeoutMilliseconds) else { throw ValidationError("--bus-replica-timeout-ms must be 1...60000") }
        if busMinReplicas > 0, bus == "memory" { throw ValidationError("--bus-min-replicas needs a redis:// bus") }
        return (busMinReplicas, .milliseconds(Int64(busReplicaTimeoutMilliseconds)))
    }

    /// `--bus-timeout-ms`, checked.
    func timeout() throws -> TimeAmount {
        // Bounded so that the TimeAmount (nanoseconds in an Int64) cannot overflow.
        guard (1...600_000).contains(busTimeoutMilliseconds) else { throw ValidationError("--bus-timeout-ms must be 1...600000") }
        return .milliseconds(Int64(busTimeoutMilliseconds))
    }
}
