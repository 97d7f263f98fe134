//! An endpoint's transformation on its page: saving the code, a dry run that shows
//! the request it would send (an htmx fragment), and applying a preset. Every action
//! is a call to the API's `…/transformation` routes, so the code is compiled and
//! checked there, and the dry run is the engine's own.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use http::Method;
use serde_json::{Value, json};

use super::endpoint::{EpPath, after, load};
use super::{FormData, html};
use crate::api;
use crate::ctx::Ctx;

/// A preset as the picker shows it.
pub(crate) struct PresetChoice {
    pub id: String,
    pub name: String,
    /// Its parameters, `name` or `name?` (optional), comma-separated.
    pub params: String,
}

/// The presets the API offers; none when it cannot be asked.
pub(crate) async fn presets(ctx: &Ctx) -> Vec<PresetChoice> {
    let list = api::call(&ctx.state, &ctx.bearer, Method::GET, "/api/v1/transformation/presets", None).await;
    let list = list.ok().and_then(|v| v["data"].as_array().cloned()).unwrap_or_default();
    list.iter()
        .map(|p| PresetChoice {
            id: p["id"].as_str().unwrap_or_default().to_owned(),
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            params: (p["params"].as_array().into_iter().flatten())
                .map(|a| {
                    let name = a["name"].as_str().unwrap_or_default();
                    if a["required"] == json!(true) { name.to_owned() } else { format!("{name}?") }
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect()
}

pub(crate) async fn save(ctx: Ctx, Path(p): Path<EpPath>, form: FormData) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let code = form.get("code");
    let body = if code.is_empty() {
        json!({ "code": null })
    } else {
        json!({ "kind": form.get("kind"), "code": code, "enabled": form.get("enabled") == "1" })
    };
    let path = format!("/api/v1/app/{}/endpoint/{}/transformation", app.id, ep.id);
    let result = api::call(&ctx.state, &ctx.bearer, Method::PATCH, &path, Some(body)).await;
    after(&ctx, app, ep, result, "saved").await
}

pub(crate) async fn apply_preset(ctx: Ctx, Path(p): Path<EpPath>, form: FormData) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let params: serde_json::Map<String, Value> = (form.get("params").lines())
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), json!(v.trim())))
        .collect();
    let path = format!("/api/v1/app/{}/endpoint/{}/transformation/preset", app.id, ep.id);
    let body = json!({ "preset": form.get("preset"), "params": params });
    let result = api::call(&ctx.state, &ctx.bearer, Method::POST, &path, Some(body)).await;
    after(&ctx, app, ep, result, "saved").await
}

#[derive(Template)]
#[template(path = "dry_run.html")]
struct DryRun {
    error: Option<String>,
    skip: Option<String>,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// The request the code in the editor would send for the sample, as a fragment.
pub(crate) async fn dry_run(ctx: Ctx, Path(p): Path<EpPath>, form: FormData) -> Response {
    let (app, ep) = match load(&ctx, &p).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let mut out = DryRun {
        error: None,
        skip: None,
        method: String::new(),
        url: String::new(),
        headers: Vec::new(),
        body: String::new(),
    };
    let payload: Value = match serde_json::from_str(form.get("payload")) {
        Ok(v) => v,
        Err(e) => {
            out.error = Some(format!("payload: not JSON ({e})"));
            return html(&out);
        }
    };
    let mut body = json!({ "eventType": form.get("event_type"), "payload": payload });
    if !form.get("code").is_empty() {
        body["kind"] = json!(form.get("kind"));
        body["code"] = json!(form.get("code"));
    }
    let path = format!("/api/v1/app/{}/endpoint/{}/transformation/simulate", app.id, ep.id);
    match api::call(&ctx.state, &ctx.bearer, Method::POST, &path, Some(body)).await {
        Err(e) => out.error = Some(e),
        Ok(v) if v["skip"] == json!(true) => {
            out.skip = Some(v["reason"].as_str().unwrap_or("skipped").to_owned());
        }
        Ok(v) => {
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (out.method, out.url, out.body) = (text("method"), text("url"), text("body"));
            out.headers = (v["headers"].as_object().into_iter().flatten())
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
        }
    }
    html(&out)
}
