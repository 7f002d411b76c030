import ArgumentParser
import LegacyQuote
import Logging
import ServiceLifecycle

/// Runs the legacy quote server emulator until SIGINT or SIGTERM.
@main
struct QuoteServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quote-server",
        abstract: "An emulator of the legacy quote server: deterministic prices, realistic latency, control lines."
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on; 0 picks a free one.")
    var port = 4444

    @Option(help: "Fixes the prices, the cryptokeys and the latency draws.")
    var seed: UInt64 = 468

    @Option(
        help: "How long replies wait: none, fixed:<ms> or legacy (about 560 ms on average). (default: none)",
        transform: { text in try LatencyProfile(parsing: text) }
    )
    var latency = LatencyProfile.immediate

    func run() async throws {
        let logger = Logger(label: "quote-server")
        let emulator = QuoteEmulator(host: host, port: port, seed: seed, latency: latency, logger: logger)
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [QuoteEmulatorService(emulator: emulator)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await serviceGroup.run()
    }
}

/// Keeps the emulator listening for the life of the service group.
struct QuoteEmulatorService: Service {
    let emulator: QuoteEmulator

    func run() async throws {
        _ = try await emulator.start()
        // Stopping is the same whether shutdown was graceful or the group was cancelled.
        try? await gracefulShutdown()
        try await emulator.stop()
    }
}
