import DayTraderCore
import Foundation

/// The stored form of a reply, for idempotent retries.
enum ReplyCoding {
    static func encode(_ reply: CommandReply) throws -> String {
        String(decoding: try JSONEncoder().encode(reply), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> CommandReply {
        try JSONDecoder().decode(CommandReply.self, from: Data(text.utf8))
    }
}
