import Testing

/// The bounded fuzz run (scripts/fuzz.sh): schemathesis, from the servers' own OpenAPI
/// document, against a stack of the test's own; then the log and reconciliation.
@Suite(.timeLimit(.minutes(15))) struct FuzzTests {
    @Test func theAPIHoldsUnderGeneratedRequests() async throws {
        let (status, output) = try await runStackScript("fuzz", settings: ["EXAMPLES": "25", "SEED": "468", "PG_FAST": "1"])
        #expect(status == 0, "scripts/fuzz.sh failed:\n\(output)")
        #expect(output.contains("fuzz: passed"), "\(output)")
    }
}
