import DanmakuCore
import Foundation
import Testing

@Suite struct RandomIDTests {
    @Test func idsAreLowercaseVersion4UUIDs() throws {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let id = RandomID.make()
            let parsed = try #require(UUID(uuidString: id), "\(id) is a UUID")
            #expect(parsed.uuidString.lowercased() == id)
            let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4, "version 4")
            #expect(bytes[8] >> 6 == 0b10, "the RFC 4122 variant")
            seen.insert(id)
        }
        #expect(seen.count == 1000)
    }
}
