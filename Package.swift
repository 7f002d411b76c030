// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "DayTrader",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "transaction-server", targets: ["transaction-server"]),
        .executable(name: "quote-server", targets: ["quote-server"]),
        .executable(name: "audit-server", targets: ["audit-server"]),
        .executable(name: "audit-bench", targets: ["audit-bench"]),
        .executable(name: "workload-generator", targets: ["workload-generator"]),
        .executable(name: "reconcile", targets: ["reconcile"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // MARK: C libraries from Debian packages
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        // What Swift cannot call in rabbitmq-c directly (the variadic amqp_login).
        .target(name: "CRabbitMQShim", dependencies: ["CRabbitMQ"]),

        // MARK: Pure domain
        .target(name: "DayTraderCore"),

        // MARK: I/O edges
        .target(name: "DedicatedThread"),
        // Running a process's Swift tasks on NIO's event loops.
        .target(
            name: "EventLoopThreads",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        // Starting servers and tools from tests and benchmarks.
        .target(name: "ChildProcess"),
        // Bounding a test's wait on code that might block.
        .target(name: "TimeLimits"),
        // The state rules as one table of cases, run by the tests of both their homes (Swift and SQL).
        .target(name: "TradingRuleCases", dependencies: ["DayTraderCore"]),
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis", "DedicatedThread",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AMQPClient",
            dependencies: [
                "CRabbitMQ", "CRabbitMQShim", "DedicatedThread",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LegacyQuote",
            dependencies: [
                "DayTraderCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SchemaMigrations",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TradingStore",
            dependencies: [
                "DayTraderCore", "SchemaMigrations",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ServiceSupport",
            dependencies: [
                "DayTraderCore", "AMQPClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The API's OpenAPI document (docs/openapi.yaml links here), served by the servers.
            resources: [.embedInCode("openapi.yaml")]
        ),
        .target(
            name: "AuditServer",
            dependencies: [
                "DayTraderCore", "AMQPClient", "ServiceSupport", "SchemaMigrations", "Reconciliation",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        .target(
            name: "TransactionServer",
            dependencies: [
                "DayTraderCore", "TradingStore", "RedisClient", "LegacyQuote", "AMQPClient", "ServiceSupport", "Reconciliation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            resources: [.embedInCode("Web/index.html"), .embedInCode("Web/app.js"), .embedInCode("Web/style.css")]
        ),

        .target(
            name: "AuditBenchmark",
            dependencies: [
                "DayTraderCore", "AMQPClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Replays a workload file against the stack, and writes synthetic ones.
        .target(
            name: "WorkloadGenerator",
            dependencies: [
                "DayTraderCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
            ]
        ),

        // MARK: Executables (thin mains)
        .executableTarget(
            name: "transaction-server",
            dependencies: [
                "TransactionServer", "DayTraderCore", "EventLoopThreads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "audit-server",
            dependencies: [
                "AuditServer",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "audit-bench",
            dependencies: [
                "AuditBenchmark", "AMQPClient", "ServiceSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Reconciliation",
            dependencies: [
                "DayTraderCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .executableTarget(
            name: "reconcile",
            dependencies: [
                "Reconciliation", "ServiceSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .executableTarget(
            name: "workload-generator",
            dependencies: [
                "WorkloadGenerator", "EventLoopThreads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "quote-server",
            dependencies: [
                "LegacyQuote",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Tests
        .testTarget(name: "DayTraderCoreTests", dependencies: ["DayTraderCore", "TradingRuleCases"]),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "DedicatedThread", "ChildProcess", "TimeLimits"]),
        .testTarget(
            name: "AMQPClientTests",
            dependencies: ["AMQPClient", "ChildProcess", "TimeLimits", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "LegacyQuoteTests",
            dependencies: ["LegacyQuote", "DayTraderCore", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "WorkloadGeneratorTests",
            dependencies: [
                "WorkloadGenerator", "DayTraderCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "DeploymentTests",
            dependencies: [
                "TransactionServer", "AuditServer",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TransactionServer", "TradingStore", "RedisClient", "LegacyQuote", "DayTraderCore",
                "AuditServer", "AMQPClient", "ServiceSupport", "ChildProcess", "TimeLimits", "WorkloadGenerator", "TradingRuleCases", "Reconciliation",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
