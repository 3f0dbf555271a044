// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `danmaku post`: posts one comment, or every line of standard input, as a streamer's tool would.
///
/// On `429` (and `409 idempotency_in_progress`) it waits the `Retry-After` seconds and tries the
/// same line again with the same `Idempotency-Key`; other refusals are counted by their code. Prints a summary; exits 1 if any line was not accepted.
struct Post: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Post a comment, or each line of standard input, to a room.")

    @Option(help: "The server (an ingest node), e.g. http://127.0.0.1:7000.")
    var url = "http://127.0.0.1:7000"

    @Option(help: "The room.")
    var room: String

    @Option(help: "A token (default: $DANMAKU_TOKEN; none for an open-mode server).")
    var token: String?

    @Option(help: "Colour, #rrggbb.")
    var color: String?

    @Option(help: "scroll, top, bottom or reverse.")
    var mode: String?

    @Option(help: "Give up on a line after this many 429 answers.")
    var maxRetries = 20

    @Argument(help: "The text; without it, each line of standard input is posted.")
    var text: String?

    func run() async throws {
        guard let endpoint = URL(string: "\(url)/v1/rooms/\(room)/comments") else { throw ValidationError("bad --url or --room") }
        let token = token ?? ProcessInfo.processInfo.environment["DANMAKU_TOKEN"]
        var summary = Summary()
        if let text {
            summary.record(try await post(text, to: endpoint, token: token))
        } else {
            while let line = readLine() {
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                summary.record(try await post(line, to: endpoint, token: token))
            }
        }
        print(summary.line)
        if summary.rejected.values.reduce(0, +) > 0 { throw ExitCode(1) }
    }

    /// What became of the lines.
    struct Summary {
        var accepted = 0
        var rejected: [String: Int] = [:]
        var waitedSeconds = 0

        mutating func record(_ outcome: Outcome) {
            waitedSeconds += outcome.waitedSeconds
            if let code = outcome.errorCode { rejected[code, default: 0] += 1 } else { accepted += 1 }
        }

        var line: String {
            let refused = rejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "accepted \(accepted), rejected \(rejected.values.reduce(0, +))"
                + (refused.isEmpty ? "" : " (\(refused))") + (waitedSeconds > 0 ? "; waited \(waitedSeconds) s on 429" : "")
        }
    }

    struct Outcome {
        var errorCode: String?
        var waitedSeconds = 0
    }

    private func post(_ text: String, to endpoint: URL, token: String?) async throws -> Outcome {
        var body: [String: String] = ["text": text]
        if let color { body["color"] = color }
        if let mode { body["mode"] = mode }
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        // One key per line, the same on each retry: a retry of a post that was stored gets its
        // answer back instead of storing it twice.
        request.setValue(UUID().uuidString, forHTTPHeaderField: "Idempotency-Key")
        request.httpBody = try JSONEncoder().encode(body)
        var outcome = Outcome()
        for _ in 0...maxRetries {
            let (data, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if status == 201 {
                outcome.errorCode = nil
                return outcome
            }
            let code = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])
                .flatMap { $0["error"] as? [String: Any] }?["code"] as? String ?? "http_\(status)"
            guard (status == 429 && code == "rate_limited") || code == "idempotency_in_progress" else {
                FileHandle.standardError.write(Data("not posted (\(status) \(code)): \(text)\n".utf8))
                outcome.errorCode = code
                return outcome
            }
            outcome.errorCode = code
            let wait = Int((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After") ?? "1") ?? 1
            outcome.waitedSeconds += max(1, wait)
            try await Task.sleep(for: .seconds(max(1, wait)))
        }
        return outcome
    }
}
