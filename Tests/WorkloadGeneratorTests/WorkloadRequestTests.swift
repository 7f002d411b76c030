import DayTraderCore
import Foundation
import Testing
@testable import WorkloadGenerator

@Suite("WorkloadRequest: a line's route and JSON body")
struct WorkloadRequestTests {
    @Test("every command", arguments: [
        ("[1] ADD,oY01WVirLr,63511.53 ", "/api/add", #"{"amount":"63511.53","idempotencyKey":"r1-1","transactionNum":1,"user":"oY01WVirLr"}"#),
        ("[2] QUOTE,oY01WVirLr,S ", "/api/quote", #"{"idempotencyKey":"r1-2","symbol":"S","transactionNum":2,"user":"oY01WVirLr"}"#),
        ("[3] BUY,u,ABC,276.83 ", "/api/buy", #"{"amount":"276.83","idempotencyKey":"r1-3","symbol":"ABC","transactionNum":3,"user":"u"}"#),
        ("[4] COMMIT_BUY,u ", "/api/commit-buy", #"{"idempotencyKey":"r1-4","transactionNum":4,"user":"u"}"#),
        ("[5] CANCEL_BUY,u ", "/api/cancel-buy", #"{"idempotencyKey":"r1-5","transactionNum":5,"user":"u"}"#),
        ("[6] SELL,u,ABC,1.00 ", "/api/sell", #"{"amount":"1.00","idempotencyKey":"r1-6","symbol":"ABC","transactionNum":6,"user":"u"}"#),
        ("[7] COMMIT_SELL,u ", "/api/commit-sell", #"{"idempotencyKey":"r1-7","transactionNum":7,"user":"u"}"#),
        ("[8] CANCEL_SELL,u ", "/api/cancel-sell", #"{"idempotencyKey":"r1-8","transactionNum":8,"user":"u"}"#),
        ("[9] SET_BUY_AMOUNT,u,ABC,50.00 ", "/api/set-buy-amount", #"{"amount":"50.00","idempotencyKey":"r1-9","symbol":"ABC","transactionNum":9,"user":"u"}"#),
        ("[10] CANCEL_SET_BUY,u,ABC ", "/api/cancel-set-buy", #"{"idempotencyKey":"r1-10","symbol":"ABC","transactionNum":10,"user":"u"}"#),
        ("[11] SET_BUY_TRIGGER,u,ABC,20.00 ", "/api/set-buy-trigger", #"{"amount":"20.00","idempotencyKey":"r1-11","symbol":"ABC","transactionNum":11,"user":"u"}"#),
        ("[12] SET_SELL_AMOUNT,u,ABC,50.00 ", "/api/set-sell-amount", #"{"amount":"50.00","idempotencyKey":"r1-12","symbol":"ABC","transactionNum":12,"user":"u"}"#),
        ("[13] SET_SELL_TRIGGER,u,ABC,30.00 ", "/api/set-sell-trigger", #"{"amount":"30.00","idempotencyKey":"r1-13","symbol":"ABC","transactionNum":13,"user":"u"}"#),
        ("[14] CANCEL_SET_SELL,u,ABC ", "/api/cancel-set-sell", #"{"idempotencyKey":"r1-14","symbol":"ABC","transactionNum":14,"user":"u"}"#),
        ("[15] DISPLAY_SUMMARY,u ", "/api/display-summary", #"{"idempotencyKey":"r1-15","transactionNum":15,"user":"u"}"#),
        ("[16] DUMPLOG,u,./userLOG ", "/api/dumplog", #"{"filename":"./userLOG","idempotencyKey":"r1-16","transactionNum":16,"user":"u"}"#),
        ("[17] DUMPLOG,./testLOG", "/api/dumplog", #"{"filename":"./testLOG","idempotencyKey":"r1-17","transactionNum":17}"#),
    ])
    func mapping(line: String, path: String, body: String) throws {
        let request = try #require(WorkloadRequest(line: try WorkloadLine(parsing: line), runID: "r1"))
        #expect(request.path == path)
        #expect(String(decoding: request.body.json(), as: UTF8.self) == body)
    }

    @Test("the sixteen commands have sixteen different routes")
    func routesAreDistinct() {
        #expect(Set(CommandName.allCases.map(\.httpPath)).count == 16)
    }

    @Test("a request that is not a command is refused")
    func unknownName() {
        let line = WorkloadLine(lineNumber: 1, request: CommandRequest(name: "FLY", user: "u"))
        #expect(WorkloadRequest(line: line, runID: "r") == nil)
    }

    @Test("fields the line leaves out are left out of the JSON, not sent as null")
    func absentFieldsOmitted() throws {
        let object = try JSONSerialization.jsonObject(with: Data(CommandBody(user: "u").json())) as? [String: Any]
        #expect(object?.keys.sorted() == ["user"])
    }
}
