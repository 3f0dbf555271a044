// Danmaku — a live-stream bullet-comment service.

extension FixedWidthInteger {
    /// `value` rounded down and saturated to the type's range (NaN is 0): the conversion of a
    /// floating-point value (a clock reading, a computed wait) that cannot trap, where `Self(value)`
    /// would on anything out of range.
    public init(saturating value: Double) {
        let rounded = value.rounded(.down)
        if let exact = Self(exactly: rounded) {
            self = exact
        } else {
            self = rounded > 0 ? .max : rounded < 0 ? .min : 0
        }
    }
}
