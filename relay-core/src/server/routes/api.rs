//! The JSON routes: `/health`, `/api/channels`, `/api/groups`.

use super::playlist::{filtered, stream_url};
use crate::proto::json;
use crate::server::context::RequestContext;
use crate::server::reply::Reply;

/// `GET /health`: status, version and every counter.
pub(in crate::server) fn health(ctx: &RequestContext<'_>) -> Reply {
    let body = format!(
        "{{\"status\":\"ok\",\"version\":\"{}\",{}}}\n",
        env!("CARGO_PKG_VERSION"),
        ctx.shared.counters_json()
    );
    Reply::bytes(200, "application/json", body.into())
}

/// `GET /api/channels?q=&group=`.
pub(in crate::server) fn channels(ctx: &RequestContext<'_>) -> Reply {
    let catalog = ctx.shared.catalog();
    let base = ctx.public_base();
    let channels = filtered(ctx, &catalog);
    let mut out = String::with_capacity(64 + channels.len() * 256);
    out.push_str(&format!("{{\"count\":{},\"channels\":[", channels.len()));
    for (i, ch) in channels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        json::write_str(&mut out, &ch.id);
        out.push_str(",\"name\":");
        json::write_str(&mut out, ch.name());
        let fields = [
            ("group", ch.group()),
            ("tvg_id", ch.entry.attr("tvg-id")),
            ("logo", ch.entry.attr("tvg-logo")),
            ("chno", ch.entry.attr("tvg-chno")),
        ];
        for (key, value) in fields {
            out.push_str(&format!(",\"{key}\":"));
            match value {
                Some(v) => json::write_str(&mut out, v),
                None => out.push_str("null"),
            }
        }
        out.push_str(",\"kind\":");
        json::write_str(&mut out, ch.kind.as_str());
        out.push_str(",\"url\":");
        json::write_str(&mut out, &stream_url(&base, ch));
        out.push('}');
    }
    out.push_str("]}\n");
    Reply::bytes(200, "application/json", out.into())
}

/// `GET /api/groups`: `{"count":N,"groups":[{"name":..,"channels":n}]}` in order of first
/// appearance.
pub(in crate::server) fn groups(ctx: &RequestContext<'_>) -> Reply {
    let catalog = ctx.shared.catalog();
    let groups = catalog.groups();
    let mut out = format!("{{\"count\":{},\"groups\":[", groups.len());
    for (i, (name, n)) in groups.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json::write_str(&mut out, name);
        out.push_str(&format!(",\"channels\":{n}}}"));
    }
    out.push_str("]}\n");
    Reply::bytes(200, "application/json", out.into())
}
