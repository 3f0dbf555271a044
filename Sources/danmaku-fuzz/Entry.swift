// Danmaku — a live-stream bullet-comment service.

#if FUZZING
import Foundation

/// libFuzzer's entry point (built with `-DFUZZING -sanitize=fuzzer`); the target is chosen by
/// `DANMAKU_FUZZ_TARGET` (`comment`, `frames`, `http` or `connection`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let name = ProcessInfo.processInfo.environment["DANMAKU_FUZZ_TARGET"] ?? "comment"
    guard let target = FuzzTarget(rawValue: name) else { fatalError("unknown DANMAKU_FUZZ_TARGET \(name)") }
    target.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM names an executable's entry point after its module; hand it to libFuzzer's driver,
/// which parses the usual libFuzzer flags (`-max_total_time`, corpus directories, …).
@_cdecl("danmaku_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
}
#else
import Foundation

/// Without the fuzzer: replays corpus files, `danmaku-fuzz TARGET FILE_OR_DIRECTORY...`, so the
/// seed corpus (and every crash once fixed) is checked by an ordinary build.
@main
struct CorpusReplay {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: danmaku-fuzz comment|frames|http|connection FILE_OR_DIRECTORY...")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let files = isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { "\(path)/\($0)" } : [path]
            for file in files {
                target.run(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
                count += 1
            }
        }
        print("danmaku-fuzz \(name): \(count) inputs replayed, no property violated")
    }
}
#endif
