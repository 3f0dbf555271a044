// Danmaku — a live-stream bullet-comment service.

import DanmakuCore
import DanmakuFormats
import DanmakuLogic
import NIOCore
import NIOHTTP1

/// A video pool's files: `GET /v1/videos/{video}/export?format=…` and
/// `POST /v1/videos/{video}/import?format=bilibili-xml` with the file as the raw body.
struct PoolFilesAPI: Sendable {
    let transfer: VideoPoolTransfer

    /// The file's format from `?format=`; `fallback` when absent (nil: required).
    static func format(_ target: RequestTarget, default fallback: PoolFileFormat? = nil) -> Result<PoolFileFormat, DanmakuError> {
        let names = PoolFileFormat.allCases.map(\.rawValue).joined(separator: ", ")
        guard let raw = target.query["format"] else {
            return fallback.map { .success($0) } ?? .failure(.invalidField("format", "format is required: one of \(names)"))
        }
        guard !target.repeated.contains("format"), let format = PoolFileFormat(rawValue: raw) else {
            return .failure(.invalidField("format", "format must be one of \(names)"))
        }
        return .success(format)
    }

    /// The pool as a file of the format asked, named after the video (`Content-Disposition`).
    func export(_ request: APIRequest) async -> APIAnswer {
        let format: PoolFileFormat
        switch Self.format(request.target) {
        case .success(let value): format = value
        case .failure(let error): return .failure(error)
        }
        let defaults = ASSLayout()
        let layout: ASSLayout
        switch (
            request.target.integer("width", in: ASSLayout.sizes, default: defaults.width),
            request.target.integer("height", in: ASSLayout.sizes, default: defaults.height),
            request.target.integer("duration", in: ASSLayout.durations, default: defaults.scrollSeconds)
        ) {
        case (.success(let width), .success(let height), .success(let duration)):
            layout = ASSLayout(width: width, height: height, scrollSeconds: duration)
        case (.failure(let error), _, _), (_, .failure(let error), _), (_, _, .failure(let error)):
            return .failure(error)
        }
        return await transfer.export(video: request.video, format: format, layout: layout, token: request.token).map { exported -> APIResponse in
            var headers = HTTPHeaders()
            headers.add(name: "Content-Disposition", value: "attachment; filename=\"\(request.video.value).\(format.fileExtension)\"")
            headers.add(name: "X-Danmaku-Comments", value: String(exported.comments))
            if format == .ass { headers.add(name: "X-Danmaku-Omitted", value: String(exported.omitted)) }
            return APIResponse(body: exported.body, contentType: format.contentType, headers: headers)
        }
    }

    private struct Imported: Encodable {
        struct Skipped: Encodable {
            var line: Int
            var reason: String
        }

        var video: String
        var format: String
        var read: Int
        var added: Int
        var skipped: [Skipped]
    }

    /// Media types a Bilibili file may be sent as (any, when the request names none).
    static let fileMediaTypes = ["application/xml", "text/xml", "application/octet-stream", "text/plain"]

    /// The body's comments added to the pool, all or nothing.
    func importFile(_ request: APIRequest) async -> APIAnswer {
        let format: PoolFileFormat
        switch Self.format(request.target, default: .bilibiliXML) {
        case .success(let value): format = value
        case .failure(let error): return .failure(error)
        }
        if let type = request.head.headers.first(name: "content-type")?.lowercased(),
           !Self.fileMediaTypes.contains(where: { type.hasPrefix($0) }) {
            return .failure(DanmakuError(
                code: "unsupported_media_type", status: 415,
                message: "a bilibili-xml file is sent as its raw bytes with Content-Type application/xml"))
        }
        let file = Array(request.body.readableBytesView)
        return await transfer.importFile(video: request.video, format: format, file: file, token: request.token).map { imported -> APIResponse in
            let body = Imported(
                video: request.video.value, format: format.rawValue, read: imported.read, added: imported.added,
                skipped: imported.skipped.map { Imported.Skipped(line: $0.line, reason: $0.reason) })
            return .json(RoomsAPI.encode(body))
        }
    }
}
