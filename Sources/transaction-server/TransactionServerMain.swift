import ArgumentParser
import Configuration
import DayTraderCore
import EventLoopThreads
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import TransactionServer

/// The transaction server: configured from environment variables (docs/OPERATIONS.md).
@main
struct TransactionServerMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transaction-server",
        abstract: "Serves the trading commands; configured from environment variables (docs/OPERATIONS.md).",
        subcommands: [Serve.self, AddAccount.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Runs the server (the default).")

    func run() async throws {
        let configuration = try ServerConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider()))
        EventLoopThreads.runEverything(threads: configuration.threads)
        var logger = Logger(label: configuration.serverName)
        logger.logLevel = configuration.logLevel
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let app = buildApplication(configuration: configuration, metrics: registry, logger: logger)
        try await app.runService()
    }
}

extension Role: ExpressibleByArgument {}

struct AddAccount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-account",
        abstract: "Makes a web account (auditors and supervisors; traders sign up themselves).",
        discussion: "The password is read from DAYTRADER_ACCOUNT_PASSWORD, else from the first line of standard input."
    )

    @Option(help: "The account's name (a user id).")
    var name: String

    @Option(help: "trader, auditor or supervisor.")
    var role: Role

    func run() async throws {
        let configuration = try ServerConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider()))
        var logger = Logger(label: "add-account")
        logger.logLevel = .warning
        guard let password = ProcessInfo.processInfo.environment["DAYTRADER_ACCOUNT_PASSWORD"] ?? readLine(strippingNewline: true) else {
            throw ValidationError("no password: set DAYTRADER_ACCOUNT_PASSWORD or write it on standard input")
        }
        switch try await addWebAccount(configuration: configuration, name: name, role: role, password: password, logger: logger) {
        case .success(let account):
            print("\(account.role.rawValue) \(account.name) added")
        case .failure(let rejection):
            print("add-account: \(rejection.code.rawValue): \(rejection.message)")
            throw ExitCode(1)
        }
    }
}
