//! Herald's own OpenAPI document, served without authentication at
//! `GET /api/v1/openapi.json`. It is generated from the handlers' `#[utoipa::path]`
//! annotations and the DTOs' `ToSchema` derives, so it cannot drift from the code.

use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::v1::{
    application, attempt, auth, delivery, endpoint, event_type, health, message, source, stream,
};

/// The document; `ApiDoc::openapi()` builds it.
#[derive(OpenApi)]
#[openapi(
    info(title = "Herald", description = "Self-hosted webhooks speaking the Svix REST API v1."),
    modifiers(&BearerAuth),
    security(("HTTPBearer" = [])),
    paths(
        health::health, health::ping,
        auth::app_portal_access, auth::logout,
        application::list, application::create, application::get_one, application::update,
        application::patch, application::delete,
        event_type::list, event_type::create, event_type::get_one, event_type::update,
        event_type::patch, event_type::delete,
        endpoint::list, endpoint::create, endpoint::get_one, endpoint::update, endpoint::patch,
        endpoint::delete,
        endpoint::secret::get_secret, endpoint::secret::rotate_secret,
        endpoint::headers::get_headers, endpoint::headers::put_headers, endpoint::headers::patch_headers,
        endpoint::ops::stats, endpoint::ops::send_example, endpoint::ops::recover,
        endpoint::transform::get_transformation, endpoint::transform::patch_transformation,
        endpoint::transform::simulate, endpoint::transform::list_presets, endpoint::transform::apply_preset,
        message::create::create, message::list, message::get_one, message::expunge_content,
        attempt::list_by_endpoint, attempt::list_by_msg, attempt::get_one, attempt::expunge_content,
        delivery::list_destinations, delivery::list_endpoint_messages, delivery::resend,
        source::list, source::create, source::get_one, source::update, source::patch, source::delete,
        source::list_rejected, stream::stream, stream::attempts::stream, crate::inbound::receive,
    ),
    components(schemas(crate::error::HttpErrorOut, crate::error::HttpValidationError))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "HTTPBearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub(crate) async fn serve() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn operation_ids_are_unique_and_path_parameters_declared() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialisable");
        let mut ids = HashSet::new();
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() >= 25, "{} paths", paths.len());
        for (path, ops) in paths {
            for op in ops.as_object().expect("operations").values() {
                assert!(ids.insert(op["operationId"].as_str().expect("operationId").to_owned()), "{path}");
                let declared: Vec<&str> = (op["parameters"].as_array().into_iter().flatten())
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                for param in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                    assert!(declared.contains(&param), "{path}: `{param}` is not declared");
                }
            }
        }
    }
}
