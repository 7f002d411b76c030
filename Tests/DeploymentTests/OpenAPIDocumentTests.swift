import Foundation
import Testing
import Yams

/// The OpenAPI document is YAML that clients (schemathesis among them) can load: a stray
/// `: ` in a summary makes the whole document unreadable.
@Suite struct OpenAPIDocumentTests {
    @Test func theDocumentIsValidYAMLWithEveryPathAnOperation() throws {
        let text = try ComposeConsistencyTests.text("Sources/ServiceSupport/openapi.yaml")
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: Any])
        #expect(paths.count > 16)
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "\(path)")
            #expect(item["$ref"] != nil || item["get"] != nil || item["post"] != nil, "\(path) has no operation")
        }
    }
}
