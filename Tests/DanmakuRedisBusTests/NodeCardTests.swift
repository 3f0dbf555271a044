import DanmakuRedisBus
import Testing

/// The URL a node announces for `danmaku status --bus`.
@Suite struct NodeCardTests {
    @Test func aSpecificAddressIsTheURLAndAWildcardOneIsUnreachableWithTheReason() {
        #expect(NodeCard.listening(name: "a", roles: "push", host: "127.0.0.1", port: 7011, advertised: nil).url == "http://127.0.0.1:7011")
        #expect(NodeCard.listening(name: "a", roles: "push", host: "::1", port: 7011, advertised: nil).url == "http://[::1]:7011")
        let wildcard = NodeCard.listening(name: "a", roles: "push", host: "0.0.0.0", port: 7011, advertised: nil)
        #expect(wildcard.url == nil && wildcard.unreachable?.contains("--advertise-url") == true)
        let advertised = NodeCard.listening(name: "a", roles: "push", host: "0.0.0.0", port: 7011, advertised: "http://10.0.0.5:7011")
        #expect(advertised.url == "http://10.0.0.5:7011" && advertised.unreachable == nil)
    }
}
