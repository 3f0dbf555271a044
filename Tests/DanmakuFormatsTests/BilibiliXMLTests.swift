import DanmakuCore
import DanmakuFormats
import Testing

/// Bilibili danmaku files: reading the site's real format, refusing malformed and oversized
/// files with the line and the reason, and writing files that read back the same.
@Suite struct BilibiliXMLTests {
    /// A file as the site serves one (its header elements, the four shown modes, the three sizes,
    /// a subtitle, a positioned comment, escapes, a newer file's ninth field), written for the tests.
    static let sample = """
        <?xml version="1.0" encoding="UTF-8"?>
        <i>
          <chatserver>chat.bilibili.com</chatserver>
          <chatid>123456789</chatid>
          <mission>0</mission>
          <maxlimit>3000</maxlimit>
          <state>0</state>
          <real_name>0</real_name>
          <source>k-v</source>
          <d p="12.34500,1,25,16777215,1712345678,0,9f3a1b2c,51234567890123456">前方高能！</d>
          <d p="0.5,4,18,16711680,1712345679,0,deadbeef,2">bottom &amp; small</d>
          <d p="95,5,36,65280,1712345680,1,0a0b0c0d,3,10">top &lt;large&gt; "quoted" 'single'</d>
          <d p="3.0004,6,25,255,1712345681,0,abc,4">逆向 コメント 🎉</d>
          <d p="4.5,7,25,16777215,1712345682,2,abc,5">[0,0,"1-1",4.5,"positioned"]</d>
          <d p="7.25,2,25,0,1712345683,0,abc,6"><![CDATA[<cdata> & such]]></d>
        </i>
        """

    @Test func readsTheSitesFormat() throws {
        let contents = try BilibiliXMLReader().read(Array(Self.sample.utf8)).get()
        #expect(contents.danmaku.count == 5)
        let first = try #require(contents.danmaku.first)
        #expect(first == BilibiliDanmaku(
            line: 10, offsetMs: 12_345, mode: .scroll, size: .normal, color: "#ffffff", postedAt: 1_712_345_678, pool: 0, userHash: "9f3a1b2c",
            id: "51234567890123456", text: "前方高能！"))
        #expect(contents.danmaku.map(\.mode) == [.scroll, .bottom, .top, .reverse, .scroll])
        #expect(contents.danmaku.map(\.size) == [.normal, .small, .large, .normal, .normal])
        #expect(contents.danmaku.map(\.color) == ["#ffffff", "#ff0000", "#00ff00", "#0000ff", "#000000"])
        #expect(contents.danmaku.map(\.offsetMs) == [12_345, 500, 95_000, 3_000, 7_250])
        #expect(contents.danmaku[1].text == "bottom & small")
        #expect(contents.danmaku[2].text == #"top <large> "quoted" 'single'"#)
        #expect(contents.danmaku[2].pool == 1)
        #expect(contents.danmaku[3].text == "逆向 コメント 🎉")
        #expect(contents.danmaku[4].text == "<cdata> & such")
        #expect(contents.skipped.map(\.line) == [14], "the positioned comment is left out, with its line")
    }

    @Test func anImportedCommentIsMarkedAsImported() throws {
        let first = try #require(try BilibiliXMLReader().read(Array(Self.sample.utf8)).get().danmaku.first)
        let comment = first.videoComment(video: "film")
        #expect(comment.user == CommentAuthor(id: "imported:9f3a1b2c", name: ""))
        #expect(comment.id == "bili-51234567890123456")
        #expect(comment.ts == 1_712_345_678_000)
        #expect(!comment.isPrivileged)
        #expect(BilibiliDanmaku(comment) == BilibiliDanmaku(
            offsetMs: 12_345, mode: .scroll, size: .normal, color: "#ffffff", postedAt: 1_712_345_678, pool: 0, userHash: "9f3a1b2c",
            id: "51234567890123456", text: "前方高能！"), "written back as it was read")
    }

    @Test func aLocalAuthorIsWrittenAsAHashNotAnID() {
        let comment = VideoComment(
            seq: 1, id: "1b4e28ba-2fa1-41d2-883f-0016d3cca427", video: "film", offsetMs: 1, user: CommentAuthor(id: "u42", name: "Ann"), text: "hi",
            color: "#ffffff", mode: .scroll, ts: 1)
        let entry = BilibiliDanmaku(comment)
        #expect(entry.userHash == "de86d1de", "CRC-32 of u42")
        #expect(entry.id == comment.id, "a local id is kept as it is, so importing an export again adds nothing")
        #expect(entry.videoComment(video: "film").id == comment.id)
    }

    /// XML → comments → XML → comments keeps every field, escapes and non-Latin text included.
    @Test func whatIsWrittenReadsBackTheSame() throws {
        let read = try BilibiliXMLReader().read(Array(Self.sample.utf8)).get().danmaku
        let comments = read.map { $0.videoComment(video: "film") }
        let written = BilibiliXMLWriter.write(comments)
        let again = try BilibiliXMLReader().read(Array(written.utf8)).get()
        #expect(again.skipped.isEmpty)
        #expect(again.danmaku.map { $0.videoComment(video: "film") } == comments)
        #expect(written.contains(#"<d p="95.000,5,36,65280,1712345680,1,0a0b0c0d,3">top &lt;large&gt; &quot;quoted&quot; &apos;single&apos;</d>"#))
        #expect(written.contains(#"<d p="0.500,4,18,16711680,1712345679,0,deadbeef,2">bottom &amp; small</d>"#))
    }

    @Test func textsXMLCannotHoldAreWrittenSafely() throws {
        let comment = VideoComment(
            seq: 1, id: "a1", video: "v", offsetMs: 0, user: CommentAuthor(id: "imported:ab", name: ""), text: "a\u{1}b\nc</d>&",
            color: "#ffffff", mode: .scroll, ts: 0)
        let again = try BilibiliXMLReader().read(Array(BilibiliXMLWriter.write([comment]).utf8)).get()
        #expect(again.danmaku.map(\.text) == ["ab\nc</d>&"], "a C0 control is left out, a line break kept")
    }

    // MARK: Refused files: the line and the reason, nothing read

    static func refusal(_ text: String, reader: BilibiliXMLReader = BilibiliXMLReader()) -> FileFormatError? {
        if case .failure(let error) = reader.read(Array(text.utf8)) { return error }
        return nil
    }

    @Test func aMalformedFileIsRefusedWithItsLineAndReason() {
        let mismatched = "<i>\n<d p=\"1,1,25,0,0,0,ab,1\">one</d>\n<d p=\"2,1,25,0,0,0,ab,2\">two</b>\n</i>"
        let error = Self.refusal(mismatched)
        #expect(error?.line == 3)
        #expect(error?.reason.contains("end tag does not match") == true, "\(String(describing: error))")
        #expect(error?.overBound == false)

        let badColor = Self.refusal("<i>\n\n<d p=\"1,1,25,red,0,0,ab,1\">x</d></i>")
        #expect(badColor == FileFormatError(line: 3, reason: "color 'red' is not a decimal RGB number (0-16777215)"))
        #expect(Self.refusal("<i><d p=\"1,1,25\">x</d></i>")?.reason.contains("p has 3 fields") == true)
        #expect(Self.refusal("<i><d p=\"-1,1,25,0,0,0,ab,1\">x</d></i>")?.reason.contains("progress") == true)
        #expect(Self.refusal("<i><d p=\"1,42,25,0,0,0,ab,1\">x</d></i>")?.reason == "mode '42' is not one of 1-9")
        #expect(Self.refusal("<i><d p=\"1,1,25,0,0,0,ab,a b\">x</d></i>")?.reason.contains("id 'a b'") == true)
        #expect(Self.refusal("<i>\n<d>no p</d></i>") == FileFormatError(line: 2, reason: "a <d> without its p attribute"))
        #expect(Self.refusal("<i><d p=\"1,1,25,0,0,0,ab,1\">a <b>bold</b></d></i>")?.reason == "an element <b> inside a comment's <d>")
        #expect(Self.refusal("<comments><d p=\"1,1,25,0,0,0,ab,1\">x</d></comments>")?.reason.contains("not <i>") == true)
        #expect(Self.refusal("<i><d p=\"1,1,25,0,0,0,ab,1\">x & y</d></i>") != nil, "an unescaped ampersand")
        #expect(Self.refusal("<i><d p=\"1,1,25,0,0,0,ab,1\">cut off") != nil)
        #expect(Self.refusal("") != nil)
    }

    @Test func aDocumentTypeIsRefusedBeforeParsingSoNoEntityExpands() {
        let laughs = """
            <?xml version="1.0"?>
            <!DOCTYPE i [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
            <i><d p="1,1,25,0,0,0,ab,1">&b;</d></i>
            """
        #expect(Self.refusal(laughs) == FileFormatError(line: 2, reason: "a document type or markup declaration is not allowed in a danmaku file"))
    }

    /// What libxml2 would take long over, or expand, never reaches it: a tag with many attributes
    /// (compared each with all before it: a million took it half an hour), a file in another
    /// encoding than UTF-8 (whose decoding hid a document type from a look at the bytes), invalid
    /// UTF-8 and NUL bytes.
    @Test func whatWouldMakeTheParserSlowIsRefusedFirst() {
        let attributes = (0..<200_000).map { "a\($0)=\"\"" }.joined(separator: " ")
        let started = ContinuousClock.now
        #expect(Self.refusal("<i>\n<d \(attributes)>x</d></i>") == FileFormatError(line: 2, reason: "a tag has more than 16 attributes"))
        #expect(ContinuousClock.now - started < .seconds(5), "refused before any parsing")
        let utf7 = "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-+ACE-DOCTYPE i +AFs-+ADw-+ACE-ENTITY b +ACI-BBBB+ACI->+AF0->\n<i></i>"
        #expect(Self.refusal(utf7)?.reason == "the file declares encoding utf-7; a danmaku file is UTF-8")
        let utf16 = [UInt8(0xFF), 0xFE] + Array("<\0i\0>\0".utf8)
        #expect(BilibiliXMLReader().read(utf16).failure?.reason.contains("UTF-16") == true)
        let invalid = Array("<i>\n<d p=\"1,1,25,0,0,0,ab,1\">".utf8) + [0xC3, 0x28] + Array("</d></i>".utf8)
        #expect(BilibiliXMLReader().read(invalid).failure == FileFormatError(line: 2, reason: "the file is not valid UTF-8"))
        #expect(Self.refusal("<i><d p=\"1,1,25,0,0,0,ab,1\">a\u{0}b</d></i>")?.reason == "the file holds a NUL byte")
        #expect(Self.refusal("<i><!ENTITY x \"y\"></i>")?.reason == "a document type or markup declaration is not allowed in a danmaku file")
        #expect(Self.refusal("<i><!doctype i></i>") != nil, "in any case")
        // A quote in a processing instruction hides nothing, nor does a UTF-8 byte order mark
        // ahead of another encoding.
        #expect(Self.refusal("<?xml version=\"1.0\"?><?x ' ?><!DOCTYPE i [<!ENTITY a \"b\">]><!-- ' --><i></i>") != nil)
        let manyAfterPI = "<?x ' ?><i><d p=\"1\" " + (0..<40).map { "a\($0)=\"1\"" }.joined(separator: " ") + ">x</d><!-- ' --></i>"
        #expect(Self.refusal(manyAfterPI)?.reason == "a tag has more than 16 attributes")
        let bomUTF7 = [UInt8(0xEF), 0xBB, 0xBF] + Array("<?xml version=\"1.0\" encoding=\"UTF-7\"?><i></i>".utf8)
        #expect(BilibiliXMLReader().read(bomUTF7).failure?.reason == "the file declares encoding utf-7; a danmaku file is UTF-8")
        // Comments, CDATA and a UTF-8 declaration are read as before.
        let fine = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><i><!-- a <!note> --><d p=\"1,1,25,0,0,0,ab,1\"><![CDATA[<b>&]]></d></i>"
        #expect(Self.refusal(fine) == nil)
    }

    @Test func aHugeFileIsRefusedByItsBounds() {
        let line = "<d p=\"1,1,25,0,0,0,ab,1\">666</d>\n"
        let file = "<i>\n" + String(repeating: line, count: 2000) + "</i>"
        let bytes = Self.refusal(file, reader: BilibiliXMLReader(maxBytes: 10_000))
        #expect(bytes?.overBound == true)
        #expect(bytes?.line == 0)
        #expect(bytes?.reason.contains("at most 10000") == true)
        let count = Self.refusal(file, reader: BilibiliXMLReader(maxComments: 1000))
        #expect(count == FileFormatError(line: 1002, reason: "more than 1000 comments; at most 1000 are read from one file", overBound: true))
        #expect((try? BilibiliXMLReader(maxComments: 2000).read(Array(file.utf8)).get())?.danmaku.count == 2000)
    }
}

extension Result {
    /// The error, when it is one.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
