import DanmakuCore
@testable import DanmakuLogic
import Foundation
import Testing

@Suite struct TextNormalizerTests {
    @Test(arguments: [
        ("BAD", "bad"),
        ("ＢＡＤ", "bad"),                       // full width
        ("b\u{200B}a\u{200D}d", "bad"),         // zero-width space / joiner
        ("b\u{0336}a\u{0336}d\u{0336}", "bad"), // combining strike-through
        ("\u{202E}bad", "bad"),                 // bidi override
        ("bád", "bad"),                         // accent
        ("ﬁne", "fine"),                        // ligature
    ])
    func foldsTricks(_ input: String, _ expected: String) {
        #expect(TextNormalizer.key(input) == expected)
    }

    @Test func ideographsTakenAsTheyAreAreTheirOwnFoldedForm() {
        // The fast path's claim, checked against Foundation for every scalar it covers.
        for value in Array(0x3400...0x4DBF) + Array(0x4E00...0x9FFF) {
            let scalar = Unicode.Scalar(UInt32(value))!
            #expect(TextNormalizer.isPlainIdeograph(scalar))
            let decomposed = String(scalar).decomposedStringWithCompatibilityMapping
            if decomposed != String(scalar) || scalar.properties.lowercaseMapping != String(scalar) {
                Issue.record("U+\(String(value, radix: 16)) is not its own folded form")
            }
        }
        #expect(!TextNormalizer.isPlainIdeograph("\u{F900}"), "compatibility ideographs decompose")
    }

    @Test(arguments: ["  hi  ", "\t\n666\r\n", "\u{3000}全角\u{3000}", "\u{00A0}a b\u{2029}", "   ", "", "x", "\u{85}y\u{200B}"])
    func trimsTheWhiteSpaceFoundationTrims(_ text: String) {
        #expect(TextNormalizer.trimmingWhitespace(text) == text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The ASCII short cuts answer as the property tables do, for every scalar there is.
    @Test func whiteSpaceAndControlAreTheirUnicodeProperties() {
        var wrong: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            if TextNormalizer.isWhitespace(scalar) != scalar.properties.isWhitespace
                || TextNormalizer.isControl(scalar) != (scalar.properties.generalCategory == .control) {
                wrong.append(value)
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10).map { String($0, radix: 16) })")
    }

    @Test func trimsExactlyTheScalarsFoundationTrims() {
        for value in 0...0xFFFF {
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
            let text = "a" + String(scalar)
            if TextNormalizer.trimmingWhitespace(text) != text.trimmingCharacters(in: .whitespacesAndNewlines) {
                Issue.record("U+\(String(value, radix: 16)) is trimmed by one and not the other")
            }
        }
    }

    @Test func keepsOriginIndices() {
        let (scalars, origins) = TextNormalizer.normalize("a\u{200B}Ｂ")
        #expect(String(String.UnicodeScalarView(scalars)) == "ab")
        #expect(origins == [0, 2])
    }
}

@Suite struct SensitiveWordFilterTests {
    let filter = SensitiveWordFilter(words: ["bad", "worse", "傻逼", "he"])

    @Test(arguments: ["this is BAD", "ｂａｄ", "b\u{200B}ad", "b a d", "very 傻\u{200B}逼", "b\u{0301}ad"])
    func findsDisguisedWords(_ text: String) {
        #expect(filter.contains(in: text))
    }

    @Test(arguments: ["good", "b-ad", "傻 瓜", ""])
    func passesCleanText(_ text: String) {
        #expect(!filter.contains(in: text))
    }

    @Test func masksEveryOccurrenceInTheOriginalText() {
        #expect(filter.masked("so bad and worse") == "so *** and ***")
        #expect(filter.masked("ＢＡＤ!") == "***!")
        #expect(filter.masked("fine") == nil)
    }

    @Test func masksOverlappingMatchesOnce() {
        // "he" and "worse" do not overlap; "badbad" is two matches side by side.
        #expect(filter.masked("badbad") == "***")
        #expect(filter.masked("the worse") == "t*** ***")
    }

    @Test func findsWordsSharingSuffixes() {
        let suffixes = SensitiveWordFilter(words: ["abcd", "bc", "c"])
        #expect(suffixes.masked("xabcx") == "xa***x")
        #expect(suffixes.wordCount == 3)
    }

    @Test func scalesToTenThousandWords() {
        let words = (0..<10_000).map { "word\($0)x" }
        let big = SensitiveWordFilter(words: words)
        #expect(big.wordCount == 10_000)
        #expect(big.contains(in: "hello WORD9999X there"))
        #expect(!big.contains(in: "hello word10000 there"))
    }

    @Test func parsesWordLists() {
        let parsed = SensitiveWordFilter(wordList: "# comment\nbad\n\n  spam  \n")
        #expect(parsed.wordCount == 2)
        #expect(parsed.contains(in: "SPAM"))
    }
}
