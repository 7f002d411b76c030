import DayTraderCore
import Logging
import PostgresNIO
import ServiceSupport
import TradingStore

/// The operator's way to make an auditor's or a supervisor's account (traders sign up): the
/// trading database as the servers would reach it, its schema brought up to date first.
public func addWebAccount(
    configuration: ServerConfiguration, name: String, role: Role, password: String, logger: Logger
) async throws -> Result<WebAccount, Rejection> {
    let postgres = PostgresClient(configuration: configuration.postgres, backgroundLogger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await postgres.run() }
        defer { group.cancelAll() }
        try await TradingStore(client: postgres, logger: logger).migrate()
        let sessions = WebSessions(store: WebAccountStore(client: postgres, logger: logger), clock: SystemClock(), settings: configuration.auth)
        return try await sessions.addAccount(name: name, role: role, password: password)
    }
}
