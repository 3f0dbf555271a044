// Danmaku — a live-stream bullet-comment service.

import ArgumentParser
import DanmakuIngest
import Foundation

/// `danmaku openapi`: prints the OpenAPI 3.1 document of the HTTP API (what `GET /openapi.json`
/// serves), e.g. to refresh `docs/openapi.json` or to generate a client.
struct OpenAPI: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "openapi", abstract: "Print the HTTP API's OpenAPI 3.1 document.")

    func run() throws {
        FileHandle.standardOutput.write(OpenAPIDocument.json())
    }
}
