import DanmakuIngest
import Foundation
import NIOCore
import Testing

/// docs/openapi.json is what the router generates, and describes every declared endpoint.
@Suite struct OpenAPIDocumentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theCommittedDocumentIsTheGeneratedOne() throws {
        let committed = try Data(contentsOf: Self.root.appendingPathComponent("docs/openapi.json"))
        #expect(committed == OpenAPIDocument.json(), "docs/openapi.json is stale: run `swift run danmaku openapi > docs/openapi.json`")
    }

    @Test func everyEndpointIsDescribedWithItsAnswersAndErrors() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.json()) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        for endpoint in APIRouter.standard.endpoints {
            let operation = try #require(paths[endpoint.path.description]?[endpoint.method.rawValue.lowercased()] as? [String: Any], "\(endpoint.method) \(endpoint.path)")
            let responses = try #require(operation["responses"] as? [String: Any])
            for answer in endpoint.answers { #expect(responses[String(answer.status)] != nil, "\(endpoint.method) \(endpoint.path) \(answer.status)") }
            #expect(responses["400"] != nil, "malformed requests are answered 400 everywhere")
        }
        // Every schema named anywhere is defined.
        let text = String(decoding: OpenAPIDocument.json(), as: UTF8.self)
        let references = text.components(separatedBy: "#/components/schemas/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        for name in Set(references) { #expect(schemas[name] != nil, "\(name) is referenced but not defined") }
    }

    @Test func theDocumentIsServed() async throws {
        let harness = ConnectionHarness()
        let answer = try #require(try await RouterTests.answer("GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n", on: harness))
        #expect(answer.status == 200 && answer.headers["content-type"]?.hasPrefix("application/json") == true)
        #expect(Data(answer.body) == OpenAPIDocument.json())
    }
}
