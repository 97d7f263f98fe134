//! The event-type catalogue, grouped by dotted prefix (`order.*`), with descriptions
//! and JSON schemas.

use askama::Template;
use axum::response::Response;
use herald_store::{Order, PageQuery};

use super::{Layout, html};
use crate::ctx::Ctx;

pub(crate) struct TypeView {
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub deprecated: bool,
    pub schema: Option<String>,
}

#[derive(Template)]
#[template(path = "event_types.html")]
struct Catalogue {
    l: Layout,
    groups: Vec<(String, Vec<TypeView>)>,
}

pub(crate) async fn page(ctx: Ctx) -> Response {
    let found = match ctx.state.store.list_event_types(&PageQuery::first(1000, Order::Ascending), true).await
    {
        Ok(p) => p.items,
        Err(e) => return super::failure(&ctx, &e),
    };
    let mut groups: Vec<(String, Vec<TypeView>)> = Vec::new();
    for t in found {
        let group = t.name.split_once('.').map_or("other", |(g, _)| g).to_owned();
        let view = TypeView {
            schema: t.schemas.as_ref().map(|s| serde_json::to_string_pretty(s).unwrap_or_default()),
            name: t.name,
            description: t.description,
            archived: t.archived,
            deprecated: t.deprecated,
        };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, list)) => list.push(view),
            None => groups.push((group, vec![view])),
        }
    }
    html(&Catalogue { l: ctx.layout("Event types", "event-types"), groups })
}
