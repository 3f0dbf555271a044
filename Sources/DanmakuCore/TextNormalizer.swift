// Danmaku — a live-stream bullet-comment service.

import Foundation

/// Folds text into the form the word filter and duplicate check compare.
///
/// People dodge filters with `ＢＡＤ`, `B\u{200B}AD` or `B̶A̶D̶`; all of these normalize to `bad`.
/// Each original scalar is compatibility-decomposed (NFKD: full width to half width, ligatures
/// split), combining marks and format characters (zero-width, bidi controls) are dropped, and
/// the rest is case-folded. The index of the original scalar is kept for every output scalar so
/// a match can be masked in the original text.
public enum TextNormalizer {
    /// Normalized scalars of `text`, each with the index of the original scalar it came from.
    public static func normalize(_ text: String) -> (scalars: [Unicode.Scalar], origins: [Int]) {
        var scalars: [Unicode.Scalar] = []
        var origins: [Int] = []
        scalars.reserveCapacity(text.unicodeScalars.count)
        origins.reserveCapacity(text.unicodeScalars.count)
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if scalar.isASCII {
                // Fast path: most comments are mostly ASCII, and ASCII needs only case folding.
                let folded = (0x41...0x5A).contains(scalar.value) ? Unicode.Scalar(scalar.value + 32)! : scalar
                scalars.append(folded)
                origins.append(index)
                continue
            }
            if isPlainIdeograph(scalar) {
                // Most of the rest in a Chinese room: no decomposition, no case, nothing to drop.
                scalars.append(scalar)
                origins.append(index)
                continue
            }
            if isInvisible(scalar) { continue }
            for decomposed in String(scalar).decomposedStringWithCompatibilityMapping.unicodeScalars {
                if isInvisible(decomposed) { continue }
                for folded in decomposed.properties.lowercaseMapping.unicodeScalars {
                    scalars.append(folded)
                    origins.append(index)
                }
            }
        }
        return (scalars, origins)
    }

    /// CJK Unified Ideographs and Extension A: their own NFKD form and case fold, so they skip the
    /// per-scalar Foundation decomposition (which costs a string bridge each).
    public static func isPlainIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        (0x4E00...0x9FFF).contains(scalar.value) || (0x3400...0x4DBF).contains(scalar.value)
    }

    /// `text` without leading and trailing white space: the scalars Foundation's
    /// `whitespacesAndNewlines` trims (the Unicode White_Space property, and the zero-width space),
    /// without bridging to `NSString`.
    public static func trimmingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let isSpace = { (scalar: Unicode.Scalar) in isWhitespace(scalar) || scalar.value == 0x200B }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        if first == scalars.startIndex, scalars.index(after: last) == scalars.endIndex { return text }
        return String(scalars[first...last])
    }

    /// The normalized text as a string, used as the duplicate-suppression key.
    public static func key(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        result.append(contentsOf: normalize(text).scalars.filter { !isWhitespace($0) })
        return String(result)
    }

    /// The Unicode White_Space property, without the property tables: its 25 scalars, listed
    /// (the lookups were a tenth of a post's CPU; a test holds the list to the property).
    @inline(__always)
    public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// General category Cc (control), which is exactly U+0000–U+001F and U+007F–U+009F: no table.
    @inline(__always)
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Characters that render as nothing (or only decorate a neighbour) and so must not split a word.
    public static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .spacingMark, .format:
            return true
        default:
            // U+3164 and U+115F/U+1160 are Hangul fillers, a common invisible-character trick.
            return scalar.value == 0x3164 || scalar.value == 0x115F || scalar.value == 0x1160
        }
    }
}
