//! The GraphQL playground: GraphiQL on `GET /graphql`, with React, ReactDOM, GraphiQL and the
//! page's own script and styles all served from this binary under `/graphql/assets/`, so the
//! page works on networks that block public CDNs. The vendored files, their licences and the
//! script that refreshes them are in `api/assets/vendor/graphiql/`.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use uuid::Uuid;

use crate::error::{problem_response, ApiError};

/// Where the playground's files are served from.
pub const ASSETS_PATH: &str = "/graphql/assets";

/// The page's Content-Security-Policy, less the per-response style nonce that [`page`] appends.
/// Scripts, styles, fetches: our own origin only, nothing inline. GraphiQL's stylesheet embeds
/// its fonts and icons as `data:` URLs. Its dialogs add one `<style>` element at run time (to lock
/// scrolling); that element carries the nonce, which `playground.js` hands to the bundle.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
     style-src 'self'";

/// Asset URLs carry the release's fingerprint, so a browser may keep them for good.
const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

struct Asset {
    /// Below `api/assets/`; served by its file name.
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

impl Asset {
    fn name(&self) -> &'static str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The files of each content type, by their paths below `api/assets/`.
macro_rules! assets {
    ($($content_type:ident: $($path:literal),+;)+) => {
        &[$($(Asset { path: $path, content_type: $content_type, body: include_bytes!(concat!("../../assets/", $path)) },)+)+]
    };
}

static ASSETS: &[Asset] = assets! {
    JS: "vendor/graphiql/react.production.min.js", "vendor/graphiql/react-dom.production.min.js",
        "vendor/graphiql/graphiql.min.js", "playground.js";
    CSS: "vendor/graphiql/graphiql.min.css", "playground.css";
    TEXT: "vendor/graphiql/LICENSE.graphiql", "vendor/graphiql/LICENSE.react", "vendor/graphiql/LICENSE.react-dom",
        "vendor/graphiql/THIRD-PARTY-NOTICES.txt";
};

/// A fingerprint of every asset, added to their URLs in the page (`?v=…`) so that browsers
/// holding day-old copies fetch new ones after an upgrade.
static FINGERPRINT: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a, 64 bits: stable across builds and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in ASSETS.iter().flat_map(|a| a.name().as_bytes().iter().chain(a.body)) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
});

/// The page's HTML, with its style nonce.
fn page_html(nonce: &str) -> String {
    let v = FINGERPRINT.as_str();
    let p = ASSETS_PATH;
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphQL playground · Primary care roles API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{p}/graphiql.min.css?v={v}">
<link rel="stylesheet" href="{p}/playground.css?v={v}">
</head>
<body>
<div id="graphiql"><p class="playground-loading">Loading the GraphQL playground…</p></div>
<noscript>The GraphQL playground needs JavaScript. Queries can also be sent as JSON with POST /graphql.</noscript>
<script src="{p}/react.production.min.js?v={v}"></script>
<script src="{p}/react-dom.production.min.js?v={v}"></script>
<script src="{p}/graphiql.min.js?v={v}"></script>
<script src="{p}/playground.js?v={v}" nonce="{nonce}"></script>
</body>
</html>
"#
    )
}

/// `GET /graphql`: the GraphiQL page. Its fetcher posts to `/graphql` on the same origin with the
/// headers from GraphiQL's Headers editor (e.g. `{"Authorization": "Bearer …"}`), which the
/// browser keeps between visits.
pub async fn page() -> HttpResponse {
    let nonce = Uuid::new_v4().simple().to_string();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, format!("{CONTENT_SECURITY_POLICY} 'nonce-{nonce}'")))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page_html(&nonce))
}

/// `GET /graphql/assets/{name}`: one of the playground's files, from memory.
pub async fn asset(path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    match ASSETS.iter().find(|a| a.name() == name) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header((header::CACHE_CONTROL, ASSET_CACHE_CONTROL))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(a.body),
        None => problem_response(&ApiError::NotFound(format!("there is no playground asset named {name:?}")).problem()),
    }
}

/// Registers `GET` (and so `HEAD`) `/graphql/assets/{name}`. `GET /graphql` itself is routed to
/// [`page`] with the GraphQL endpoint.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(crate::http::resource::Resource::new(&format!("{ASSETS_PATH}/{{name}}")).get(asset).done());
}
