import DayTraderCore
import Hummingbird
import ServiceLifecycle
import ServiceSupport

/// `GET /api/events?user=<id>`: server-sent events of one account (docs/API.md, "Live updates"),
/// for whoever may read its summary (``Access``): `event: account` with the account's new
/// version whenever it changes on any instance (a command from any client, a trigger firing, an
/// order expiring), and a comment line every 15 s so that proxies keep the stream open.
struct EventRoutes {
    let changes: AccountChanges
    let callers: Callers

    func register(on router: Router<BasicRequestContext>) {
        router.get("/api/events") { request, _ -> Response in
            let caller: Caller
            switch try await callers.caller(of: request) {
            case .success(let found): caller = found
            case .failure(let rejection): return CommandHTTP.error(rejection)
            }
            let user: UserID
            do {
                user = try UserID(validating: request.uri.queryParameters["user"].map(String.init) ?? "")
            } catch let rejection as Rejection {
                return CommandHTTP.error(rejection)
            }
            if let refusal = Access.refusal(of: .displaySummary, for: user.rawValue, by: caller) {
                return CommandHTTP.error(refusal)
            }
            let (id, events) = changes.watch(user)
            let body = ResponseBody { writer in
                defer { changes.stop(user, id) }
                // The client reconnects after 2 s when the stream breaks (a server stopped).
                try await writer.write(ByteBuffer(string: "retry: 2000\nevent: ready\ndata: {}\n\n"))
                // A server stopping ends its streams (the pages reconnect to another), rather than
                // waiting for each to close.
                try await withGracefulShutdownHandler {
                    for await event in events {
                        switch event {
                        case .changed(let version):
                            try await writer.write(ByteBuffer(string: "event: account\ndata: {\"user\":\"\(user.rawValue)\",\"version\":\(version)}\n\n"))
                        case .heartbeat:
                            try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                        }
                    }
                } onGracefulShutdown: {
                    changes.stop(user, id)
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no"],
                body: body
            )
        }
    }
}
