import Testing

/// The web pages in headless Chromium (scripts/browser.sh, Tests/browser/pages_test.py): sign-up,
/// funds, quote, buy and commit, an order expiring, a trigger firing and another client's change
/// shown live, a trader kept to their own account, an auditor's and a supervisor's dumps; against
/// a stack of the test's own with sign-in on, then reconciliation.
@Suite(.timeLimit(.minutes(15))) struct BrowserTests {
    @Test func tradersAndAuditorsUseThePages() async throws {
        let (status, output) = try await runStackScript("browser", settings: ["PG_FAST": "1"])
        #expect(status == 0, "scripts/browser.sh failed:\n\(output)")
        #expect(output.contains("browser: passed"), "\(output)")
    }
}
