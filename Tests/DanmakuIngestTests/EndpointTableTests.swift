import DanmakuCore
import DanmakuIngest
import Foundation
import NIOHTTP1
import Testing

/// The endpoint table is the one description of the HTTP API: each documented path parses to its
/// route, and docs/PROTOCOL.md names every method of every route.
@Suite struct EndpointTableTests {
    @Test func everyEndpointIsRoutedAndDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let protocolText = try String(contentsOf: root.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        for (path, route) in Route.documentedPaths {
            let concrete = path.replacingOccurrences(of: "{room}", with: "r1").replacingOccurrences(of: "{user}", with: "u")
                .replacingOccurrences(of: "{id}", with: "c").replacingOccurrences(of: "{video}", with: "v1").replacingOccurrences(of: "{n}", with: "0")
            #expect(Route(path: Substring(concrete)) == route, "\(path)")
            #expect(!route.endpoints.isEmpty, "\(path)")
            for (method, _) in route.endpoints {
                #expect(protocolText.contains("\(method.rawValue) \(path)"), "docs/PROTOCOL.md does not name \(method.rawValue) \(path)")
            }
        }
    }

    @Test func rolesAndReadsAreWhereTheyShouldBe() {
        let room = RoomID("r1")!
        #expect(Route.comments(room).endpoints.first { $0.key == .POST }?.value.role == .ingest)
        #expect(Route.comments(room).endpoints.first { $0.key == .GET }?.value.readsStore == true)
        #expect(Route.settings(room).endpoints.first { $0.key == .PUT }?.value.role == .logic)
        #expect(Route.settings(room).endpoints.first { $0.key == .PATCH }?.value.role == .logic)
        #expect(Route.viewerSocket(room).endpoints.first { $0.key == .GET }?.value.role == .push)
        #expect(Route.unknown.endpoints.isEmpty && Route.invalidRoom.endpoints.isEmpty)
    }
}
