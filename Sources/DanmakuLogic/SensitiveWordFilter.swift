// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import Foundation

/// What to do with a comment that contains a blocked word.
public enum FilterPolicy: String, Sendable, CaseIterable {
    /// Refuse the comment (422 `filtered`).
    case reject
    /// Accept it with every blocked word replaced by `***`.
    case mask
}

/// Aho-Corasick automaton over normalized Unicode scalars.
///
/// Built once from the word list; scanning is one pass over the text whatever the number of
/// words, so a 10,000-word list costs the same per comment as a 10-word one.
public struct SensitiveWordFilter: Sendable {
    private struct Node: Sendable {
        var next: [UInt32: Int32] = [:]
        var fail: Int32 = 0
        /// Length (in normalized scalars) of the longest word ending at this node, 0 if none.
        var matchLength: Int32 = 0
    }

    private var nodes: [Node] = [Node()]

    /// The number of distinct words in the automaton.
    public private(set) var wordCount = 0

    /// Builds the automaton; each word is normalized the same way as the text it is matched against.
    public init(words: some Sequence<String>) {
        for word in words {
            let scalars = TextNormalizer.normalize(word).scalars.filter { !TextNormalizer.isWhitespace($0) }
            guard !scalars.isEmpty else { continue }
            var state = 0
            for scalar in scalars {
                if let next = nodes[state].next[scalar.value] {
                    state = Int(next)
                } else {
                    nodes.append(Node())
                    nodes[state].next[scalar.value] = Int32(nodes.count - 1)
                    state = nodes.count - 1
                }
            }
            if nodes[state].matchLength == 0 { wordCount += 1 }
            nodes[state].matchLength = Int32(scalars.count)
        }
        buildFailureLinks()
    }

    /// Builds the automaton from a word-list file's text (see `words(fromList:)`).
    public init(wordList: String) {
        self.init(words: Self.words(fromList: wordList))
    }

    /// The words of a word list: one per line, blank lines and lines starting with `#` ignored.
    public static func words(fromList text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    private mutating func buildFailureLinks() {
        var queue: [Int] = []
        for (_, child) in nodes[0].next { queue.append(Int(child)) }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            for (scalar, child) in nodes[state].next {
                var fallback = Int(nodes[state].fail)
                while fallback != 0, nodes[fallback].next[scalar] == nil {
                    fallback = Int(nodes[fallback].fail)
                }
                let target = nodes[fallback].next[scalar].map(Int.init) ?? 0
                nodes[Int(child)].fail = Int32(target == Int(child) ? 0 : target)
                // A node also matches every word its failure chain matches; keep the longest.
                nodes[Int(child)].matchLength = max(nodes[Int(child)].matchLength, nodes[Int(nodes[Int(child)].fail)].matchLength)
                queue.append(Int(child))
            }
        }
    }

    /// Ranges of normalized-scalar indices that are blocked words (possibly overlapping).
    public func matches(in scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var state = 0
        for (position, scalar) in scalars.enumerated() {
            if TextNormalizer.isWhitespace(scalar) { continue }
            while state != 0, nodes[state].next[scalar.value] == nil {
                state = Int(nodes[state].fail)
            }
            state = nodes[state].next[scalar.value].map(Int.init) ?? 0
            let length = Int(nodes[state].matchLength)
            if length > 0 {
                result.append(startIndex(ofMatchEndingAt: position, length: length, in: scalars)..<(position + 1))
            }
        }
        return result
    }

    /// Whitespace is skipped while matching (so `b a d` matches `bad`); walk back over it too.
    private func startIndex(ofMatchEndingAt end: Int, length: Int, in scalars: [Unicode.Scalar]) -> Int {
        var remaining = length
        var index = end
        while index >= 0 {
            if !TextNormalizer.isWhitespace(scalars[index]) {
                remaining -= 1
                if remaining == 0 { return index }
            }
            index -= 1
        }
        return 0
    }

    /// Whether `text` contains any blocked word.
    public func contains(in text: String) -> Bool {
        !matches(in: TextNormalizer.normalize(text).scalars).isEmpty
    }

    /// `text` with each blocked word replaced by `***`, or `nil` when nothing matched.
    public func masked(_ text: String) -> String? {
        let (scalars, origins) = TextNormalizer.normalize(text)
        let found = matches(in: scalars)
        guard !found.isEmpty else { return nil }
        let original = Array(text.unicodeScalars)
        // Map normalized ranges back to original scalar ranges and merge overlaps.
        var spans = found.map { origins[$0.lowerBound]..<(origins[$0.upperBound - 1] + 1) }
        spans.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for span in spans {
            if let last = merged.last, span.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, span.upperBound)
            } else {
                merged.append(span)
            }
        }
        var output = String.UnicodeScalarView()
        var cursor = 0
        for span in merged {
            output.append(contentsOf: original[cursor..<span.lowerBound])
            output.append(contentsOf: "***".unicodeScalars)
            cursor = span.upperBound
        }
        // Drop combining marks that decorated the masked word's last character.
        while cursor < original.count, TextNormalizer.isInvisible(original[cursor]) { cursor += 1 }
        output.append(contentsOf: original[cursor...])
        return String(output)
    }
}
