// swift-tools-version:6.0
// Happening: a load-testing and benchmarking harness bundled with the event-ticketing server it measures.
import PackageDescription

/// Settings every Swift target shares: Swift 6 language mode (strict concurrency), explicit existentials, and
/// member import visibility (a file sees another module's extensions only if it imports that module, so each
/// target's dependencies in this file are what its sources really use).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Happening",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "happening-server", targets: ["Server"]),
        .executable(name: "happening-worker", targets: ["Worker"]),
        .executable(name: "happening-bench", targets: ["Bench"]),
        .executable(name: "happening-seed", targets: ["Seed"]),
        .executable(name: "happening-offline-razorpay", targets: ["OfflineRazorpay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Prometheus remote write's protobuf messages (generated code committed: Sources/PrometheusRemoteWrite/Generated).
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        // Already in the graph through Hummingbird; declared because our sources import them directly.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // MARK: C libraries (system packages, Debian -dev providers). Only the client modules import these.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CRabbitMQ", pkgConfig: "librabbitmq", providers: [.apt(["librabbitmq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),

        // MARK: Threads for blocking work, Duration conversions, the shell runner (every module below may use it)
        .target(
            name: "HappeningSystem",
            dependencies: [.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: swiftSettings
        ),

        // MARK: What the command-line tools share: the usage error (exit status 2) and the progress style
        .target(name: "HappeningCommandLine", swiftSettings: swiftSettings),

        // MARK: The fair, bounded connection pool the Postgres and Redis clients share
        .target(
            name: "HappeningPool",
            dependencies: [
                .product(name: "NIOPosix", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: One client module per C library
        .target(
            name: "HappeningPostgres",
            dependencies: [
                "CLibPQ", "HappeningPool", "HappeningSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HappeningRedis",
            dependencies: [
                "CHiredis", "HappeningPool", "HappeningSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HappeningAMQP",
            dependencies: [
                "CRabbitMQ", "HappeningSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Outbound HTTP on libcurl's easy interface (the payment gateway, webhooks): a lifecycle service.
        .target(
            name: "HappeningHTTP",
            dependencies: [
                "CCurl", "HappeningPool", "HappeningSystem",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Bench's load engines on libcurl's multi interface and Happening's HTTP/1.1 framing; only the Bench links it.
        .target(
            name: "HappeningLoad",
            dependencies: ["CCurl", "HappeningHTTP", "HappeningSystem"],
            swiftSettings: swiftSettings
        ),

        // MARK: Configuration: typed environment settings (one way to read LOG_LEVEL, queue names, fees), service
        // endpoints, and how a service's main ends when it cannot run
        .target(
            name: "HappeningConfig",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),

        // MARK: What the server, worker and seeder say to each other: the booking job on the queue, cache key names,
        // event categories
        .target(name: "HappeningModel", swiftSettings: swiftSettings),

        // MARK: Geography: the gazetteer (cities with populations) and the bounding box of a near-me search
        .target(name: "HappeningGeo", swiftSettings: swiftSettings),

        // MARK: SHA-256 and HMAC-SHA256 on OpenSSL's libcrypto (tokens, Razorpay signatures, derived booking ids)
        .target(name: "HappeningCrypto", dependencies: ["CLibCrypto"], swiftSettings: swiftSettings),

        // MARK: API tokens (JWT, HS256), shared by the server and the seeder's bench users
        .target(
            name: "HappeningAuth",
            dependencies: ["HappeningCrypto", "HappeningModel"],
            swiftSettings: swiftSettings
        ),

        // MARK: Tickets left per event, published to Redis after each change and merged into cached bodies
        .target(
            name: "EventAvailability",
            dependencies: [
                "HappeningModel", "HappeningPostgres", "HappeningRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Booking decisions (strategies, sweeper, worker loop), shared by the worker and its tests
        .target(
            name: "BookingEngine",
            dependencies: [
                "HappeningModel", "HappeningPostgres", "HappeningAMQP", "EventAvailability",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Razorpay's API on the libcurl client (signatures, orders, payments, refunds, payouts)
        .target(
            name: "Razorpay",
            dependencies: [
                "HappeningHTTP", "HappeningConfig",
                "HappeningCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Payments: orders, captures, refunds and reconciliation (shared by the server and the worker)
        .target(
            name: "Payments",
            dependencies: [
                "HappeningModel", "HappeningConfig", "HappeningSystem", "Razorpay", "HappeningPostgres", "EventAvailability",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Executables (thin: read config, wire, run)
        .executableTarget(
            name: "OfflineRazorpay",
            dependencies: [
                "Razorpay", "HappeningHTTP", "HappeningConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Server",
            dependencies: [
                "HappeningSystem", "HappeningConfig", "HappeningGeo", "HappeningModel", "HappeningAuth", "HappeningPostgres", "HappeningRedis", "HappeningAMQP",
                "Payments", "Razorpay", "EventAvailability",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                "HappeningCrypto",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                "HappeningPool",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The inline answers' channel (Sources/Server/Inline): Hummingbird's HTTP/1 pipeline, built here.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ],
            resources: [.copy("Resources/openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Worker",
            dependencies: [
                "HappeningConfig", "HappeningModel", "HappeningPostgres", "HappeningRedis", "HappeningAMQP", "BookingEngine", "Payments", "Razorpay",
                "EventAvailability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // MARK: Snappy compression (the C library behind one small module) and Prometheus remote write on top of it
        .target(name: "HappeningSnappy", dependencies: ["CSnappy"], swiftSettings: swiftSettings),
        .target(
            name: "PrometheusRemoteWrite",
            dependencies: ["HappeningSnappy", "HappeningHTTP", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings
        ),
        // The Bench's engine, in rooms: Scenario, Run (Schedules, Recording), Ledger, History, Results, Reports, Diff, Fleet, Tiers.
        .target(
            name: "HappeningBench",
            dependencies: [
                "HappeningCommandLine", "HappeningSystem", "HappeningPostgres", "HappeningHTTP", "HappeningLoad", "PrometheusRemoteWrite",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // happening-bench: the commands only.
        .executableTarget(
            name: "Bench",
            dependencies: [
                "HappeningCommandLine", "HappeningBench", "HappeningSystem", "HappeningHTTP", "HappeningLoad", "PrometheusRemoteWrite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Seed",
            dependencies: [
                "HappeningCommandLine", "HappeningSystem", "HappeningGeo", "HappeningModel", "HappeningAuth", "HappeningPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/init.sql")],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests (against the real services started by scripts/services.sh)
        .target(
            name: "TestSupport",
            dependencies: [
                "HappeningHTTP", "HappeningSystem", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PostgresTests", dependencies: ["HappeningPostgres", "TestSupport", "HappeningPool"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RedisTests",
            dependencies: [
                "HappeningRedis", "TestSupport", "HappeningPool", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: swiftSettings),
        .testTarget(name: "AMQPTests", dependencies: ["HappeningAMQP", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HTTPClientTests",
            dependencies: [
                "HappeningHTTP", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "TestSupport", "HappeningAuth", "HappeningPostgres", "HappeningAMQP", "HappeningConfig", "HappeningModel", "HappeningSystem",
                "BookingEngine", "HappeningRedis", "HappeningPool",
                "EventAvailability",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "HappeningHTTP",
                "Payments",
                "Razorpay",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "BookingEngine", "EventAvailability", "HappeningAMQP", "HappeningPostgres", "HappeningModel", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BenchTests",
            dependencies: [
                "HappeningBench", "HappeningLoad", "HappeningPostgres", "HappeningSystem", "TestSupport", "PrometheusRemoteWrite",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RazorpayTests",
            dependencies: ["Razorpay", "HappeningHTTP", "TestSupport", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        // Pure logic only: no services, no child processes, no network.
        .testTarget(
            name: "UnitTests",
            dependencies: [
                "Seed", "Worker", .product(name: "ArgumentParser", package: "swift-argument-parser"), "HappeningCommandLine", "HappeningLoad",
                "HappeningConfig", "HappeningGeo", "HappeningModel", "HappeningPostgres", "Razorpay", "HappeningBench",
                "Bench", "OfflineRazorpay",
                "Server",
                "HappeningAuth", "HappeningCrypto", "EventAvailability", "BookingEngine", "HappeningSystem", "TestSupport",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                "HappeningRedis", "HappeningSnappy", "PrometheusRemoteWrite",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SchemaTests", dependencies: ["HappeningGeo", "HappeningPostgres", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SeedTests",
            dependencies: [
                "HappeningCommandLine", "Seed", "Server", "HappeningAuth", "HappeningGeo", "HappeningModel", "HappeningHTTP", "HappeningPostgres",
                "EventAvailability",
                "HappeningSystem", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
