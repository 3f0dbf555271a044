@testable import DanmakuRedisBus
import Testing

/// What a master's answer to `WAIT N 1` says about readiness under `--bus-min-replicas N`.
@Suite struct ReplicaCountTests {
    @Test func enoughConfirmedReplicasAreNoShortfall() {
        #expect(ReplicaSyncWatch.shortfall(confirmed: 1, needed: 1, node: "m") == nil)
        #expect(ReplicaSyncWatch.shortfall(confirmed: 3, needed: 2, node: "m") == nil)
        #expect(ReplicaSyncWatch.shortfall(confirmed: 1, needed: 2, node: "m") == "m has 1 of 2 replicas in sync")
        #expect(ReplicaSyncWatch.shortfall(confirmed: -5, needed: 1, node: "m") == "m has 0 of 1 replicas in sync")
        #expect(ReplicaSyncWatch.shortfall(confirmed: nil, needed: 1, node: "m") == "m gave no replica count")
    }
}
