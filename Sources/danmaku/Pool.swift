// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuCore
import DanmakuFormats
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `danmaku pool import|export`: a video's pool in the field's files, through a node's HTTP API
/// (`GET /v1/videos/{video}/export`, `POST /v1/videos/{video}/import`), as a moderator of the video.
struct Pool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a video's pool from a Bilibili XML file, or export it as Bilibili XML, ASS or JSON.",
        subcommands: [PoolImport.self, PoolExport.self])

    /// Where and as whom: the node and the token, as `danmaku post` takes them.
    struct Node: ParsableArguments {
        @Option(help: "The server (a node with the logic role), e.g. http://127.0.0.1:7000.")
        var url = "http://127.0.0.1:7000"

        @Option(help: "A moderator's token for the video (default: $DANMAKU_TOKEN).")
        var token: String?

        @Option(help: "The video.")
        var video: String

        func validate() throws {
            guard VideoID(video) != nil else { throw ValidationError("--video must be 1-64 of A-Z, a-z, 0-9, '_' or '-'") }
            guard let base = URL(string: url), base.host != nil, ["http", "https"].contains(base.scheme ?? "") else {
                throw ValidationError("bad --url \(url)")
            }
        }

        /// `path` under the video with `query`, e.g. `export?format=ass`.
        func endpoint(_ path: String, query: [URLQueryItem]) throws -> URL {
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            guard var components = URLComponents(string: "\(base)/v1/videos/\(video)/\(path)") else { throw ValidationError("bad --url \(url)") }
            components.queryItems = query
            guard let endpoint = components.url else { throw ValidationError("bad --url \(url)") }
            return endpoint
        }

        /// The request, with the token.
        func request(_ url: URL) -> URLRequest {
            var request = URLRequest(url: url, timeoutInterval: 300)
            if let token = token ?? ProcessInfo.processInfo.environment["DANMAKU_TOKEN"] {
                request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            }
            return request
        }
    }

    /// The answer's error as the node said it, for a non-2xx answer.
    static func failure(_ data: Data, status: Int) -> ValidationError {
        let error = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["error"] as? [String: Any]
        let code = error?["code"] as? String ?? "http_\(status)"
        let message = error?["message"] as? String ?? String(decoding: data.prefix(200), as: UTF8.self)
        return ValidationError("\(status) \(code): \(message)")
    }
}

/// `danmaku pool import --video V --format bilibili-xml FILE`.
struct PoolImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add a Bilibili XML file's comments to a video's pool (all or nothing; importing it again adds nothing).")

    @OptionGroup var node: Pool.Node

    @Option(help: "The file's format: bilibili-xml.")
    var format = PoolFileFormat.bilibiliXML.rawValue

    @Argument(help: "The file ('-' for standard input).")
    var file: String

    func validate() throws {
        guard PoolFileFormat(rawValue: format)?.isImportable == true else { throw ValidationError("--format must be bilibili-xml") }
    }

    func run() async throws {
        let body = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        var request = node.request(try node.endpoint("import", query: [URLQueryItem(name: "format", value: format)]))
        request.httpMethod = "POST"
        request.setValue("application/xml", forHTTPHeaderField: "Content-Type")
        let (data, response) = try await URLSession.shared.upload(for: request, from: body)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200, let answer = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Pool.failure(data, status: status)
        }
        let skipped = answer["skipped"] as? [[String: Any]] ?? []
        for entry in skipped {
            FileHandle.standardError.write(Data("skipped line \(entry["line"] ?? 0): \(entry["reason"] ?? "")\n".utf8))
        }
        print("read \(answer["read"] ?? 0), added \(answer["added"] ?? 0), skipped \(skipped.count)")
    }
}

/// `danmaku pool export --video V --format bilibili-xml|ass|json [--out FILE]`.
struct PoolExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a video's pool as Bilibili XML, ASS subtitles in lanes, or JSON.")

    @OptionGroup var node: Pool.Node

    @Option(help: "bilibili-xml, ass or json.")
    var format: String

    @Option(help: "Write here instead of standard output.")
    var out: String?

    @Option(help: "ASS: the video's width in pixels.")
    var width = ASSLayout().width

    @Option(help: "ASS: the video's height in pixels.")
    var height = ASSLayout().height

    @Option(help: "ASS: seconds a scrolling comment takes to cross the screen.")
    var duration = ASSLayout().scrollSeconds

    func validate() throws {
        guard PoolFileFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(PoolFileFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard ASSLayout.sizes.contains(width), ASSLayout.sizes.contains(height) else {
            throw ValidationError("--width and --height must be \(ASSLayout.sizes.lowerBound)...\(ASSLayout.sizes.upperBound)")
        }
        guard ASSLayout.durations.contains(duration) else {
            throw ValidationError("--duration must be \(ASSLayout.durations.lowerBound)...\(ASSLayout.durations.upperBound)")
        }
    }

    func run() async throws {
        var query = [URLQueryItem(name: "format", value: format)]
        if format == PoolFileFormat.ass.rawValue {
            query += [
                URLQueryItem(name: "width", value: String(width)), URLQueryItem(name: "height", value: String(height)),
                URLQueryItem(name: "duration", value: String(duration)),
            ]
        }
        let (data, response) = try await URLSession.shared.data(for: node.request(try node.endpoint("export", query: query)))
        let http = response as? HTTPURLResponse
        let status = http?.statusCode ?? 0
        guard status == 200 else { throw Pool.failure(data, status: status) }
        if let out {
            try data.write(to: URL(fileURLWithPath: out))
        } else {
            FileHandle.standardOutput.write(data)
        }
        if let omitted = http?.value(forHTTPHeaderField: "X-Danmaku-Omitted"), omitted != "0" {
            FileHandle.standardError.write(Data("\(omitted) comments found no free lane and were left out\n".utf8))
        }
    }
}
