// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "danmaku",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "danmaku", targets: ["danmaku"]),
        .executable(name: "danmaku-bench", targets: ["danmaku-bench"]),
        .library(name: "DanmakuServer", targets: ["DanmakuServer"]),
        .library(name: "DanmakuClient", targets: ["DanmakuClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        // HMAC for anonymous authors' ids (jwt-kit builds it already).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Traces: the API in the libraries, the OTLP exporter (HTTP only, no gRPC) in the executable.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        // The default trait needs jemalloc, which is not available here; the interposer counts mallocs.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The comment's model and wire codec: shared by every role.
        .target(
            name: "DanmakuCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The field's file formats for a video's pool: Bilibili XML (read with Foundation's
        // XMLParser, libxml2) and ASS subtitles in lanes. A module of its own so that libxml2 and
        // the layout stay out of the core every role and the hot path link.
        .target(
            name: "DanmakuFormats",
            dependencies: ["DanmakuCore"],
            swiftSettings: swiftSettings
        ),
        // Validation, rate limits, word filter, dedupe; hands accepted comments to the bus.
        .target(
            name: "DanmakuLogic",
            dependencies: [
                "DanmakuCore", "DanmakuBus", "DanmakuFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The bus's ports (comment log, pub/sub, moderation, presence, replay) and their in-memory
        // versions: what carries accepted comments from logic to push nodes in one process.
        .target(
            name: "DanmakuBus",
            dependencies: [
                "DanmakuCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The bus's ports on Redis 7 (streams, sharded pub/sub, scripts, gap repair): the
        // distributed mode's adapter, imported by DanmakuServer alone.
        .target(
            name: "DanmakuRedisBus",
            dependencies: [
                "DanmakuCore", "DanmakuBus", "DanmakuRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The durable archive (--data-dir): every accepted comment in SQLite, and stream replay.
        .target(
            name: "DanmakuArchive",
            dependencies: [
                "DanmakuCore", "DanmakuBus",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                // The writer is a Service of the server's group.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A RESP client on SwiftNIO: pipelined commands, pub/sub, reconnects, AUTH and TLS.
        .target(
            name: "DanmakuRedis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // WebSocket viewers: per-loop rooms, batching, encode-once fan-out.
        .target(
            name: "DanmakuPush",
            dependencies: [
                "DanmakuCore", "DanmakuBus",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // Who may post: HS256 tokens (jwt-kit), their claims and room scopes.
        .target(
            name: "DanmakuAuth",
            dependencies: [
                "DanmakuCore", "DanmakuLogic",
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        // Each connection's pipeline and the HTTP API: parse, validate and answer.
        .target(
            name: "DanmakuIngest",
            dependencies: [
                "DanmakuCore", "DanmakuLogic", "DanmakuBus", "DanmakuPush", "DanmakuFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            // The web pages' files, compiled into the binary (`WebAssets`): it is deployed alone,
            // without a resource bundle beside it.
            resources: [.embedInCode("Web")],
            swiftSettings: swiftSettings
        ),
        // Wiring and lifecycle: one port, all roles.
        .target(
            name: "DanmakuServer",
            dependencies: [
                "DanmakuCore", "DanmakuLogic", "DanmakuBus", "DanmakuPush", "DanmakuIngest", "DanmakuAuth", "DanmakuArchive",
                "DanmakuRedis", "DanmakuRedisBus",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "danmaku",
            dependencies: [
                "DanmakuServer", "DanmakuLogic", "DanmakuFormats", "DanmakuAuth", "DanmakuArchive", "DanmakuIngest", "DanmakuBus", "DanmakuCore",
                "DanmakuRedis", "DanmakuRedisBus",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            swiftSettings: swiftSettings
        ),
        // Sockets, HTTP and WebSocket clients written independently of the server, for tests.
        .target(
            name: "DanmakuTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/DanmakuTestSupport",
            swiftSettings: swiftSettings
        ),
        // The load generator's parts: viewers that check seq continuity, paced publishers, reports.
        .target(
            name: "DanmakuBench",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "danmaku-bench",
            dependencies: [
                "DanmakuBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzz targets: libFuzzer with -DFUZZING -sanitize=fuzzer, corpus replay otherwise.
        .executableTarget(
            name: "danmaku-fuzz",
            dependencies: [
                "DanmakuCore", "DanmakuLogic", "DanmakuBus", "DanmakuPush", "DanmakuIngest", "DanmakuAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A WebSocket echo server on the viewers' protocol layer, for the Autobahn|Testsuite.
        .executableTarget(
            name: "danmaku-echo",
            dependencies: [
                "DanmakuPush",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Micro-benchmarks of the hot paths (`swift package benchmark`).
        .executableTarget(
            name: "DanmakuBenchmarks",
            dependencies: [
                "DanmakuCore", "DanmakuLogic", "DanmakuBus", "DanmakuPush",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/DanmakuBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The client library for apps: watch rooms over one WebSocket, resume, reconnect, post.
        .target(
            name: "DanmakuClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuClientTests",
            dependencies: ["DanmakuClient", "DanmakuTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuBenchTests",
            dependencies: [
                "DanmakuBench",
                "DanmakuTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuArchiveTests",
            dependencies: [
                "DanmakuArchive", "DanmakuBus", "DanmakuCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuIngestTests",
            dependencies: [
                "DanmakuIngest", "DanmakuCore", "DanmakuBus", "DanmakuLogic", "DanmakuPush", "DanmakuAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuBusTests",
            dependencies: [
                "DanmakuBus", "DanmakuCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuFormatsTests",
            dependencies: ["DanmakuFormats", "DanmakuCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuCoreTests",
            dependencies: ["DanmakuCore", "DanmakuTestSupport", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuLogicTests",
            dependencies: [
                "DanmakuLogic", "DanmakuCore", "DanmakuBus", "DanmakuFormats", "DanmakuTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuPushTests",
            dependencies: [
                "DanmakuPush", "DanmakuCore", "DanmakuLogic", "DanmakuBus", "DanmakuTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuRedisTests",
            dependencies: [
                "DanmakuRedis", "DanmakuTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuRedisBusTests",
            dependencies: [
                "DanmakuRedisBus", "DanmakuRedis", "DanmakuBus", "DanmakuCore", "DanmakuLogic", "DanmakuTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuClusterTests",
            dependencies: ["DanmakuTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DanmakuServerTests",
            dependencies: [
                "DanmakuServer", "DanmakuAuth", "DanmakuBench", "DanmakuCore", "DanmakuIngest", "DanmakuLogic", "DanmakuTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                // Test servers run in a ServiceGroup, as `danmaku serve` runs them.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
