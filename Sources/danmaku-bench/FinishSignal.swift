// Danmaku — a live-stream bullet-comment service.

import Foundation
import Synchronization
import UnixSignals

/// Raised when the process gets SIGUSR1 (`--until-signal`): a script that runs several benches
/// ends their measurement together, when its own timeline says so.
final class FinishSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Whether SIGUSR1 has come.
    var raised: Bool { flag.load(ordering: .relaxed) }

    /// Takes SIGUSR1 over from its default action (which would end the process) at once, and
    /// raises the flag when it comes.
    init() {
        signal(SIGUSR1, SIG_IGN)
    }

    /// Waits for SIGUSR1 (run in a task of its own).
    func watch() async {
        for await _ in await UnixSignalsSequence(trapping: .sigusr1) {
            flag.store(true, ordering: .relaxed)
            return
        }
    }
}
