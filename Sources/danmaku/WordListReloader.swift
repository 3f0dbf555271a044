// Danmaku — a live-stream bullet-comment service.

import DanmakuLogic
import DanmakuServer
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the blocked-word list from its file on SIGHUP; a file that cannot be read keeps the
/// list in force. A `Service` of the serve command's group: it ends with the group.
struct WordListReloader: Service {
    let path: String
    /// The list the file replaces.
    let words: BlockedWords
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                let words = SensitiveWordFilter.words(fromList: try String(contentsOfFile: path, encoding: .utf8))
                self.words.replace(with: words)
                logger.notice("word list reloaded", metadata: ["path": "\(path)", "words": "\(words.count)"])
            } catch {
                logger.error("word list not reloaded; the previous one stays", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }
}
