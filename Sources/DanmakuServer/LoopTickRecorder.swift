// Danmaku — a live-stream bullet-comment service.

import DanmakuPush
import NIOPosix

/// Passes each EventLoop tick's sleep to the push role's `LoopSleepMeter`.
struct LoopTickRecorder: NIOEventLoopMetricsDelegate {
    let meter: LoopSleepMeter

    func processedTick(info: NIOEventLoopTickInfo) {
        meter.add(loop: info.eventLoopID, nanoseconds: info.sleepTime.nanoseconds)
    }
}
