// Danmaku — a live-stream bullet-comment service.

import Foundation
import Synchronization
import UnixSignals

/// Raised when the process gets SIGUSR1 (`--until-signal`): a script that runs several benches
/// ends their measurement together, when its own timeline says so. A bench run by another
/// (`--procs`) also starts measuring on one (`--start-on-signal`): it counts them.
final class FinishSignal: Sendable {
    private let received = Atomic<Int>(0)

    /// How many SIGUSR1s have come.
    var count: Int { received.load(ordering: .relaxed) }

    /// Takes SIGUSR1 over from its default action (which would end the process) at once, and
    /// raises the flag when it comes.
    init() {
        signal(SIGUSR1, SIG_IGN)
    }

    /// Counts SIGUSR1s (run in a task of its own).
    func watch() async {
        for await _ in await UnixSignalsSequence(trapping: .sigusr1) {
            received.add(1, ordering: .relaxed)
        }
    }
}
