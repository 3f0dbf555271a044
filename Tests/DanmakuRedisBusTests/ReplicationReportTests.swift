@testable import DanmakuRedisBus
import Testing

/// `INFO replication` as `--bus-min-replicas` reads it for readiness.
@Suite struct ReplicationReportTests {
    static let master = """
        # Replication\r
        role:master\r
        connected_slaves:3\r
        slave0:ip=127.0.0.1,port=7481,state=online,offset=5210,lag=0\r
        slave1:ip=127.0.0.1,port=7482,state=wait_bgsave,offset=0,lag=0\r
        slave2:ip=127.0.0.1,port=7483,state=online,offset=5000,lag=7\r
        master_failover_state:no-failover\r
        master_repl_offset:5210\r
        """

    @Test func onlyOnlineReplicasThatAcknowledgedRecentlyCount() throws {
        let report = try #require(ReplicationReport(info: Self.master))
        #expect(report == ReplicationReport(role: "master", replicasInSync: 1))
        #expect(report.shortfall(needed: 1, node: "m") == nil)
        #expect(report.shortfall(needed: 2, node: "m") == "m has 1 of 2 replicas in sync")
    }

    @Test func aReplicaOrAnUnreadableReportIsAShortfall() throws {
        let replica = try #require(ReplicationReport(info: "role:slave\r\nmaster_host:127.0.0.1\r\nslave_read_only:1\r\n"))
        #expect(replica.shortfall(needed: 1, node: "r") == "r is a slave, not a master")
        #expect(ReplicationReport(info: "") == nil)
        #expect(ReplicationReport(info: "slave0:state=online,lag=0") == nil, "no role line")
        // Lines that only look like replicas, or fields out of range, count for nothing.
        let odd = try #require(ReplicationReport(info: "role:master\nslave_read_only:1\nslavex:state=online,lag=0\nslave0:state=online,lag=-1\nslave1:state=online\nslave2:state=online,lag=99999999999999999999\n"))
        #expect(odd.replicasInSync == 0)
    }
}
