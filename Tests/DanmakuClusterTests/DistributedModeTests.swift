import Testing

/// Every distributed-mode suite, one after another: each starts its own Redis servers (six for a
/// cluster) and Danmaku nodes, and run side by side on a 2-core machine they starve each other's
/// timing. Other test targets still run alongside.
@Suite(.serialized) enum DistributedModeTests {}
