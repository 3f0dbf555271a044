import DanmakuCore
import DanmakuLogic
import DanmakuTestSupport
import Foundation
import Testing

/// The comment body's own decoder: strict JSON, the fields' types, the bounds that keep any body
/// cheap, and the same reading as Foundation's `JSONDecoder` wherever both accept a body.
@Suite struct CommentRequestDecoderTests {
    func decode(_ body: String) -> Result<CommentRequest, DanmakuError> {
        CommentRequest.decode(from: Array(body.utf8))
    }

    func error(_ body: String) -> DanmakuError? {
        if case .failure(let error) = decode(body) { return error }
        return nil
    }

    @Test func everyFieldIsRead() throws {
        let request = try decode(##" { "text" : "hi" , "color":"#ABCDEF","mode":"top","size":"large","pool":true } "##).get()
        #expect(request.text == "hi" && request.color == "#ABCDEF" && request.mode == "top" && request.size == "large" && request.pool == true)
        let nulls = try decode(#"{"text":"x","color":null,"mode":null,"size":null,"pool":null}"#).get()
        #expect(nulls.color == nil && nulls.mode == nil && nulls.size == nil && nulls.pool == nil)
        #expect(try decode(#"{"pool":false,"text":""}"#).get().pool == false, "any order; an empty text is the validator's to refuse")
    }

    @Test(arguments: [
        (#"{"text":true}"#, "invalid_text", "field 'text' has the wrong type"),
        (#"{"text":{"a":1}}"#, "invalid_text", "field 'text' has the wrong type"),
        (#"{"text":null}"#, "invalid_text", "field 'text' must not be null"),
        (##"{"color":"#fff"}"##, "invalid_text", "field 'text' is required"),
        (#"{"text":"a","color":1e999}"#, "invalid_color", "field 'color' has the wrong type"),
        (#"{"text":"a","size":-0.5}"#, "invalid_size", "field 'size' has the wrong type"),
        (#"{"text":"a","pool":"yes"}"#, "invalid_pool", "field 'pool' has the wrong type"),
        (#"{"text":"a","pool":1}"#, "invalid_pool", "field 'pool' has the wrong type"),
    ])
    func aFieldOfTheWrongTypeIsNamed(_ body: String, _ code: String, _ message: String) {
        #expect(error(body)?.code == code, "\(body)")
        #expect(error(body)?.message == message, "\(body)")
    }

    @Test func otherKeysAreSkippedWhateverTheyHold() throws {
        let body = #"{"a":[1,-2.5e+3,{"b":[true,false,null,"\u00e9\"\\"]}],"text":"ok","n":123456789012345678901234567890,"e":{},"l":[]}"#
        #expect(try decode(body).get().text == "ok")
        #expect(try decode(#"{"x":1,"x":2,"text":"ok"}"#).get().text == "ok", "an unknown key twice is skipped twice")
    }

    @Test func aFieldGivenTwiceIsRefused() {
        #expect(error(#"{"text":"a","text":"b"}"#)?.code == "invalid_json")
        #expect(error(#"{"text":"a","mode":"top","mode":"scroll"}"#)?.message.hasSuffix("field 'mode' is given twice") == true)
    }

    @Test func nestingDeeperThanTheBoundIsRefused() {
        func nested(_ depth: Int) -> String {
            #"{"text":"a","deep":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        }
        #expect((try? decode(nested(31)).get()) != nil)
        #expect(error(nested(33))?.code == "invalid_json")
        #expect(error(nested(100_000))?.code == "invalid_json", "refused without recursing that deep")
    }

    @Test func escapesAreReadAndBadOnesRefused() throws {
        #expect(try decode(#"{"text":"caf\u00e9 \ud83d\ude00 \/\b\f\n\r\t"}"#).get().text == "café 😀 /\u{8}\u{c}\n\r\t")
        #expect(try decode(#"{"text":"前方高能"}"#).get().text == "前方高能")
        for bad in [#"{"text":"\x"}"#, #"{"text":"\ud83d"}"#, #"{"text":"\ude00"}"#, #"{"text":"\ud83d\u0041"}"#, #"{"text":"\u12G4"}"#, "{\"text\":\"a\u{1}\"}"] {
            #expect(error(bad)?.code == "invalid_json", "\(bad)")
        }
    }

    @Test func anythingButOneObjectIsRefused() {
        for bad in ["", " ", "[]", #""text""#, "null", #"{"text":"a"} {}"#, #"{"text":"a",}"#, #"{"text":"a""#, #"{text:"a"}"#,
                    #"{"text":'a'}"#, #"{"text":"a"  "mode":"top"}"#, #"{"x":01,"text":"a"}"#, #"{"x":1.,"text":"a"}"#, #"{"x":tru,"text":"a"}"#,
                    #"{"x":+1,"text":"a"}"#, "\u{feff}{\"text\":\"a\"}"] {
            #expect(error(bad)?.code == "invalid_json", "\(bad)")
        }
    }

    /// Random bodies, valid and broken, read the same as `JSONDecoder` read them wherever it
    /// accepted one: the same fields, or the same refusal.
    @Test func readsAsJSONDecoderDid() throws {
        var random = SeededRandom(seed: 2812)
        var compared = 0
        for _ in 0..<5000 {
            var body = Array(Self.randomObject(&random).utf8)
            if random.next() % 4 == 0, !body.isEmpty {
                // Broken on purpose: a byte dropped, doubled or replaced.
                let at = Int(random.next() % UInt64(body.count))
                switch random.next() % 3 {
                case 0: body.remove(at: at)
                case 1: body.insert(body[at], at: at)
                default:
                    let replacements = Array(#"{}[]",:"\ 0a-e"#.utf8)
                    body[at] = replacements[Int(random.next() % UInt64(replacements.count))]
                }
            }
            let theirs = try? JSONDecoder().decode(CommentRequest.self, from: Data(body))
            let ours = try? CommentRequest.decode(from: body).get()
            guard let theirs else {
                // Refused by Foundation: refused here too, but for a field given twice (which
                // Foundation takes the last of) or a lone surrogate it replaced.
                if let ours { Issue.record("accepted \(String(decoding: body, as: UTF8.self)) as \(ours.text)") }
                continue
            }
            guard let ours else {
                // Foundation reads invalid UTF-8 inside a skipped string; the body is refused
                // here before it is read (as it was before this decoder).
                guard let text = String(validating: body, as: UTF8.self) else { continue }
                #expect(Self.hasDuplicateField(text), "refused \(text)")
                continue
            }
            compared += 1
            #expect(ours.text == theirs.text && ours.color == theirs.color && ours.mode == theirs.mode && ours.size == theirs.size && ours.pool == theirs.pool,
                    "\(String(decoding: body, as: UTF8.self))")
        }
        #expect(compared > 1000, "many bodies were valid: \(compared)")
    }

    static func hasDuplicateField(_ body: String) -> Bool {
        ["text", "color", "mode", "size", "pool"].contains { body.components(separatedBy: "\"\($0)\"").count > 2 }
    }

    static func randomString(_ random: inout SeededRandom) -> String {
        let pieces = ["a", "hi", "前", "😀", #"\""#, #"\\"#, #"\/"#, #"\n"#, #"\u00e9"#, #"\ud83d\ude00"#, " ", "#ffffff", "top", "scroll"]
        return "\"" + (0..<Int(random.next() % 4)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined() + "\""
    }

    static func randomValue(_ random: inout SeededRandom, depth: Int = 0) -> String {
        switch random.next() % (depth > 3 ? 6 : 8) {
        case 0: return "null"
        case 1: return random.next() % 2 == 0 ? "true" : "false"
        case 2: return ["0", "-1", "12.5", "1e3", "-0.25E-2", "123456789012345678901234567890"][Int(random.next() % 6)]
        case 3, 4, 5: return randomString(&random)
        case 6: return "[" + (0..<Int(random.next() % 3)).map { _ in randomValue(&random, depth: depth + 1) }.joined(separator: ",") + "]"
        default: return "{" + (0..<Int(random.next() % 3)).map { _ in randomString(&random) + ":" + randomValue(&random, depth: depth + 1) }.joined(separator: ",") + "}"
        }
    }

    static func randomObject(_ random: inout SeededRandom) -> String {
        var members: [String] = []
        if random.next() % 8 != 0 { members.append(#""text":"# + (random.next() % 8 == 0 ? randomValue(&random) : randomString(&random))) }
        for key in ["color", "mode", "size", "pool", "extra", "text"] where random.next() % 3 == 0 {
            let value = key == "pool" && random.next() % 2 == 0 ? (random.next() % 2 == 0 ? "true" : "null") : randomValue(&random)
            members.append("\"\(key)\":" + value)
        }
        members.shuffle(using: &random)
        let space = [" ", "", "\n", "\t", "\r\n"]
        return space[Int(random.next() % 5)] + "{" + members.joined(separator: "," + space[Int(random.next() % 5)]) + "}" + space[Int(random.next() % 5)]
    }
}
