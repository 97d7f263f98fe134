//! The routes of Svix's API v1, one module per resource, merged here, with Herald's
//! additions beside them under the same conventions (inbound sources, the message
//! stream). Paths are relative to `/api/v1` (the crate root nests this router there).

pub(crate) mod application;
pub(crate) mod attempt;
pub(crate) mod auth;
pub(crate) mod common;
pub(crate) mod delivery;
pub(crate) mod endpoint;
pub(crate) mod event_type;
pub(crate) mod health;
pub(crate) mod message;
pub(crate) mod source;
pub(crate) mod stream;

use axum::Router;
use axum::routing::get;

use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(application::router())
        .merge(event_type::router())
        .merge(endpoint::router())
        .merge(message::router())
        .merge(attempt::router())
        .merge(delivery::router())
        .merge(source::router())
        .merge(stream::router())
        .route("/openapi.json", get(crate::openapi::serve))
}
