import DanmakuTestSupport
import Foundation
import Testing

/// Fragmented messages over a real socket (RFC 6455 §5.4): accepted and posted when valid;
/// refused with 1007 when their UTF-8 breaks across a fragment boundary.
@Suite struct SocketFragmentTests {
    @Test func aFragmentedCommentIsPostedAndBrokenUTF8IsRefused() async throws {
        try await withServer { _, port in
            let watcher = try await TestViewer.join(port: port, room: "frag")
            let poster = try await TestViewer.join(port: port, room: "frag")
            let message = Array(#"{"type":"comment","text":"fragmented hello"}"#.utf8)
            try await poster.send(opcode: 0x1, Array(message[..<20]), fin: false)
            try await poster.send(opcode: 0x9, Array("still here".utf8))
            try await poster.send(opcode: 0x0, Array(message[20...]), fin: true)
            try await poster.observed.wait(for: "the ack") { $0.messages.contains { $0["type"] as? String == "ack" } }
            try await watcher.waitForComments(1)
            let shown = watcher.observed.value.messages.first { $0["type"] as? String == "comments" }
            let comments = shown?["comments"] as? [[String: Any]] ?? []
            #expect(comments.first?["text"] as? String == "fragmented hello")
            #expect(!poster.observed.value.closed)

            let broken = try await TestViewer.join(port: port, room: "frag")
            try await broken.send(opcode: 0x1, Array(#"{"type":"comment","text":"caf"#.utf8) + [0xC3], fin: false)
            try await broken.send(opcode: 0x0, [0x28] + Array(#""}"#.utf8), fin: true)
            try await broken.waitForClose()
            #expect(broken.observed.value.closeCode == 1007)
            // The server is fine: the watcher gets the next comment.
            #expect(try await postComment(port: port, room: "frag", json: #"{"text":"after"}"#).status == 201)
            try await watcher.waitForComments(2)
            await watcher.close()
            await poster.close()
        }
    }
}
