import DanmakuCore
import DanmakuLogic
import Testing

@Suite struct CommentRequestDecodingTests {
    func decode(_ body: String) -> Result<CommentRequest, DanmakuError> {
        CommentRequest.decode(from: Array(body.utf8))
    }

    @Test func decodesWithDefaultsMissing() throws {
        let request = try decode(#"{"text":"hi","extra":1}"#).get()
        #expect(request.text == "hi" && request.color == nil && request.mode == nil)
    }

    @Test(arguments: [
        (#"{"text":"#, "invalid_json"),
        ("[1,2]", "invalid_json"),
        ("", "invalid_json"),
        (##"{"color":"#ffffff"}"##, "invalid_text"),
        (#"{"text":5}"#, "invalid_text"),
        (#"{"text":null}"#, "invalid_text"),
        (#"{"text":"a","color":7}"#, "invalid_color"),
        (#"{"text":"a","mode":["top"]}"#, "invalid_mode"),
    ])
    func reportsTheFieldAtFault(_ body: String, _ code: String) {
        guard case .failure(let error) = decode(body) else {
            Issue.record("\(body) decoded")
            return
        }
        #expect(error.code == code)
        #expect(error.status == 400)
    }

    @Test func rejectsInvalidUTF8() {
        let result = CommentRequest.decode(from: Array(#"{"text":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8))
        guard case .failure(let error) = result else { Issue.record("accepted invalid UTF-8"); return }
        #expect(error.code == "invalid_json")
    }

    /// One character may carry any number of combining marks: text is bounded in bytes too, so
    /// a 200-character comment cannot be a file's worth (an import's texts meet the same rule).
    @Test func aCharacterHeavyWithCombiningMarksIsTooLong() {
        let heavy = CommentRequest(text: "a" + String(repeating: "\u{301}", count: 20_000))
        guard case .failure(let error) = CommentValidator().validate(heavy) else { Issue.record("accepted 4 KB in one character"); return }
        #expect(error.code == "text_too_long")
        #expect((try? CommentValidator().validate(CommentRequest(text: String(repeating: "前方高能", count: 50))).get()) != nil, "200 CJK characters fit")
        #expect((try? CommentValidator().validate(CommentRequest(text: String(repeating: "👨🏻‍👩🏻‍👧🏻‍👦🏻", count: 100))).get()) != nil, "100 families of four fit")
    }

    @Test func rejectsDeepNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        guard case .failure(let error) = decode(deep) else { Issue.record("accepted nesting"); return }
        #expect(error.code == "invalid_json")
    }
}

@Suite struct CommentValidatorTests {
    let validator = CommentValidator(maxTextLength: 10)

    @Test func trimsAndDefaults() throws {
        let draft = try validator.validate(CommentRequest(text: "  hi  ")).get()
        #expect(draft.text == "hi" && draft.color == "#ffffff" && draft.mode == .scroll)
    }

    @Test(arguments: CommentMode.allCases)
    func acceptsEveryMode(_ mode: CommentMode) throws {
        #expect(try validator.validate(CommentRequest(text: "a", mode: mode.rawValue)).get().mode == mode)
    }

    @Test func normalizesColorCase() throws {
        #expect(try validator.validate(CommentRequest(text: "a", color: "#ABCdef")).get().color == "#abcdef")
    }

    @Test(arguments: [
        (CommentRequest(text: ""), "invalid_text", 400),
        (CommentRequest(text: " \n\t "), "invalid_text", 400),
        (CommentRequest(text: "a\u{0007}b"), "invalid_text", 400),
        (CommentRequest(text: "a\u{001B}[31m"), "invalid_text", 400),
        (CommentRequest(text: String(repeating: "字", count: 11)), "text_too_long", 413),
        (CommentRequest(text: "a", color: "red"), "invalid_color", 400),
        (CommentRequest(text: "a", color: "#12345g"), "invalid_color", 400),
        (CommentRequest(text: "a", color: "#1234567"), "invalid_color", 400),
        (CommentRequest(text: "a", mode: "diagonal"), "invalid_mode", 400),
    ])
    func rejects(_ request: CommentRequest, _ code: String, _ status: Int) {
        guard case .failure(let error) = validator.validate(request) else { Issue.record("accepted"); return }
        #expect(error.code == code)
        #expect(error.status == status)
    }

    @Test func countsCharactersNotBytes() {
        #expect((try? validator.validate(CommentRequest(text: String(repeating: "👍🏽", count: 10))).get()) != nil)
    }
}
