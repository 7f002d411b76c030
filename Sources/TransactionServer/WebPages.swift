import Hummingbird

/// The traders' and auditors' pages: one HTML page, its script and its style sheet, built into
/// the server (Sources/TransactionServer/Web; no build step, nothing from elsewhere). The page
/// talks to the same `/api/` routes as any client, with the session cookie.
struct WebPages {
    func register(on router: Router<BasicRequestContext>) {
        for (path, bytes, type) in [
            ("/", PackageResources.index_html, "text/html; charset=utf-8"),
            ("/app.js", PackageResources.app_js, "text/javascript; charset=utf-8"),
            ("/style.css", PackageResources.style_css, "text/css; charset=utf-8"),
        ] {
            router.get(RouterPath(path)) { _, _ in
                Response(status: .ok, headers: Self.headers(type), body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
    }

    /// Only this site's own script, style and requests; never in a frame; the type as sent.
    static func headers(_ type: String) -> HTTPFields {
        [
            .contentType: type,
            .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
            .init("X-Content-Type-Options")!: "nosniff",
            .cacheControl: "no-cache",
        ]
    }
}
