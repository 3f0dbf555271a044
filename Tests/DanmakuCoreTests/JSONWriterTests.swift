import DanmakuCore
import DanmakuTestSupport
import Foundation
import NIOCore
import Testing

/// The hand-written JSON of a post's hot path against `WireCodec.encoder`'s, byte for byte.
@Suite struct JSONWriterTests {
    /// The fields of a comment but `seq`, as `WireCodec.encoder` writes them (what
    /// `unnumberedJSON` once encoded).
    private struct Unnumbered: Encodable {
        var id: String
        var room: String
        var user: CommentAuthor
        var text: String
        var color: String
        var mode: CommentMode
        var ts: Int64
        var size: CommentSize?
        var pool: Bool?
        var weight: Int?
    }

    /// Characters JSON treats apart (every control character, quote, backslash, slash), and
    /// others an encoder might: DEL, the line and paragraph separators, a BOM, emoji, CJK,
    /// combining marks, a character of four bytes.
    private static let alphabet: [String] =
        (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        + ["\"", "\\", "/", "<", ">", "&", "'", "\u{7F}", "\u{2028}", "\u{2029}", "\u{FEFF}", "👍🏽", "你好", "e\u{301}", "\u{10FFFF}", "a", "Z", "0", " "]

    private static func text(_ random: inout SeededRandom) -> String {
        (0..<Int(random.next() % 24)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }.joined()
    }

    @Test func aCommentsJSONIsTheEncodersByteForByte() throws {
        var random = SeededRandom(seed: 4711)
        for _ in 0..<3_000 {
            let author = CommentAuthor(
                id: Self.text(&random), name: Self.text(&random), role: random.next() % 3 == 0 ? Self.text(&random) : nil)
            let comment = Comment(
                seq: 0, id: Self.text(&random), room: Self.text(&random), user: author, text: Self.text(&random), color: Self.text(&random),
                mode: CommentMode.allCases[Int(random.next() % 4)], ts: Int64(bitPattern: random.next()),
                size: [nil, .small, .normal, .large][Int(random.next() % 4)], pool: [nil, true, false][Int(random.next() % 3)],
                weight: random.next() % 2 == 0 ? Int(random.next() % 12) : nil)
            let expected = try WireCodec.encoder.encode(Unnumbered(
                id: comment.id, room: comment.room, user: comment.user, text: comment.text, color: comment.color, mode: comment.mode,
                ts: comment.ts, size: comment.size, pool: comment.pool, weight: comment.weight))
            let written = comment.unnumberedJSON()
            #expect(Array(written.readableBytesView) == Array(expected), "\(String(decoding: expected, as: UTF8.self))")
        }
    }

    @Test func aReceiptsJSONIsTheEncodersByteForByte() throws {
        var random = SeededRandom(seed: 815)
        for _ in 0..<1_000 {
            let comment = Comment(
                seq: random.next(), id: Self.text(&random), room: Self.text(&random), user: CommentAuthor(id: "u", name: "n"), text: "t",
                color: "#ffffff", mode: .scroll, ts: Int64(bitPattern: random.next()))
            let receipt = CommentReceipt(comment)
            #expect(Array(receipt.json.readableBytesView) == Array(try WireCodec.encoder.encode(receipt)))
        }
    }

    @Test func extremeNumbersAreWrittenWhole() throws {
        for (seq, ts) in [(UInt64.max, Int64.min), (0, Int64.max), (1, -1)] {
            let comment = Comment(
                seq: seq, id: "c", room: "r", user: CommentAuthor(id: "u", name: "n"), text: "t", color: "#ffffff", mode: .scroll, ts: ts)
            let receipt = CommentReceipt(comment)
            #expect(Array(receipt.json.readableBytesView) == Array(try WireCodec.encoder.encode(receipt)))
            #expect(try WireCodec.decoder.decode(CommentReceipt.self, from: Data(receipt.json.readableBytesView)) == receipt)
        }
    }
}
