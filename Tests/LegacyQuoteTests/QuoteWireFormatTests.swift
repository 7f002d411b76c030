import DayTraderCore
import Testing
@testable import LegacyQuote

@Suite struct QuoteWireFormatTests {
    static let realReply = "383.82,QDU,kHMjwfSx2P,1583452412110,4ezh2VUVde+ZVUcMj+L7f7r9bKnjeNkjzPdaZx1m4Vf+zEF/t4pPTA=="
    let qdu = try! StockSymbol(validating: "QDU")

    @Test func requestIsSymbolCommaUserNewline() throws {
        let line = QuoteWireFormat.request(symbol: qdu, user: try UserID(validating: "kHMjwfSx2P"))
        #expect(line == "QDU,kHMjwfSx2P\n")
    }

    @Test func parsesTheRealLegacyReply() throws {
        let quote = try QuoteWireFormat.parseReply(Self.realReply, expecting: qdu)
        #expect(quote.price == Money(cents: 38_382))
        #expect(quote.symbol == qdu)
        #expect(quote.user == "kHMjwfSx2P")
        #expect(quote.quoteServerTime == 1_583_452_412_110)
        #expect(quote.cryptokey == "4ezh2VUVde+ZVUcMj+L7f7r9bKnjeNkjzPdaZx1m4Vf+zEF/t4pPTA==")
    }

    @Test func replyWritesBackTheSameLine() throws {
        let quote = try QuoteWireFormat.parseReply(Self.realReply, expecting: qdu)
        #expect(QuoteWireFormat.reply(quote) == Self.realReply + "\n")
    }

    @Test(arguments: ["\n", "\r\n"])
    func acceptsOneTrailingLineEnding(_ ending: String) throws {
        let quote = try QuoteWireFormat.parseReply(Self.realReply + ending, expecting: qdu)
        #expect(quote.cryptokey.hasSuffix("=="))
    }

    @Test(arguments: [
        "383.82,QDU,kHMjwfSx2P,1583452412110",
        "383.82,QDU,kHMjwfSx2P,1583452412110,key,extra",
        "",
        "12.345,QDU,u,1583452412110,abcd",
        "-1.00,QDU,u,1583452412110,abcd",
        "0.00,QDU,u,1583452412110,abcd",
        "twelve,QDU,u,1583452412110,abcd",
        " 12.34,QDU,u,1583452412110,abcd",
        "12.34,ABC,u,1583452412110,abcd",
        "12.34,qdu,u,1583452412110,abcd",
        "12.34,QDU,,1583452412110,abcd",
        "12.34,QDU,u,,abcd",
        "12.34,QDU,u,-5,abcd",
        "12.34,QDU,u,12a,abcd",
        "12.34,QDU,u,99999999999999999999,abcd",
        "12.34,QDU,u,1583452412110,",
        "12.34,QDU,u,1583452412110,ab!d",
        "12.34,QDU,u,1583452412110,==",
        "12.34,QDU,u,1583452412110,ab=c",
        "12.34,QDU,u,1583452412110,abc===",
        "383.82,QDU,kHMjwfSx2P,1583452412110,4ezh\n2VU",
    ])
    func rejectsMalformedReplies(_ line: String) {
        #expect {
            try QuoteWireFormat.parseReply(line, expecting: qdu)
        } throws: { error in
            guard case .malformedReply = error as? QuoteError else { return false }
            return true
        }
    }

    @Test func acceptsAPriceWithFewerDecimalsExactly() throws {
        let quote = try QuoteWireFormat.parseReply("12.5,QDU,u,0,abcd", expecting: qdu)
        #expect(quote.price == Money(cents: 1_250))
    }

    @Test func recognisesARejection() {
        #expect(QuoteWireFormat.isRejection("0.00,QDU,NA,1583452412110,abcd"))
        #expect(!QuoteWireFormat.isRejection(Self.realReply))
        #expect(!QuoteWireFormat.isRejection("NA"))
    }

    @Test func errorsExplainThemselves() {
        #expect(QuoteError.timedOut.description.contains("in time"))
        #expect(QuoteError.malformedReply("price '1.234'").description.contains("price '1.234'"))
    }
}
