//! Operational webhooks: events about Herald itself (an endpoint was created,
//! disabled, a message's delivery is failing, …), with Svix's names and payloads,
//! sent to the operator's URLs.
//!
//! They need no machinery of their own. The operator's URLs are the endpoints of a
//! reserved application, [`OPERATIONAL_APP_UID`], created at start if missing; an
//! event is a message created in that application, so it is stored, signed with
//! each endpoint's secret, retried and logged like any other, and the operator
//! manages those endpoints (secrets, event-type filters, more URLs) through the
//! ordinary API. Events about the operational application itself are never sent:
//! an operational endpoint failing must not produce events that fail in turn.

use std::sync::Arc;
use std::time::Duration;

use herald_core::routing::endpoint_wants;
use herald_core::{
    AppId, Application, Attempt, AttemptEvent, Endpoint, Message, MessageId, SigningKey, Timestamp,
};
use herald_store::{Store, StoreError};
use serde_json::{Value, json};

use crate::dispatch::DispatchHandle;

/// The `uid` of the application whose endpoints receive operational webhooks.
pub const OPERATIONAL_APP_UID: &str = "herald-operational";

/// The `uid` prefix of the endpoints made from `HERALD_OPERATIONAL_WEBHOOK_URL`
/// (`config-1`, `config-2`, …); endpoints added through the API keep theirs.
pub const CONFIG_ENDPOINT_PREFIX: &str = "config-";

/// How long an operational event's payload is kept.
const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// An event about the service, as Svix names it.
#[derive(Clone, Debug)]
pub enum OperationalEvent {
    EndpointCreated(Arc<Endpoint>),
    EndpointUpdated(Arc<Endpoint>),
    EndpointDeleted(Arc<Endpoint>),
    /// Herald disabled the endpoint (410, or failing for the configured window).
    EndpointDisabled {
        endpoint: Arc<Endpoint>,
        fail_since: Timestamp,
    },
    /// `message.attempt.failing`, `.exhausted` or `.recovered`.
    Attempt {
        kind: AttemptEvent,
        message: Arc<Message>,
        /// Boxed: an attempt with its recorded request is far larger than the other variants.
        attempt: Box<Attempt>,
    },
}

impl OperationalEvent {
    /// The Svix event type.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::EndpointCreated(_) => "endpoint.created",
            Self::EndpointUpdated(_) => "endpoint.updated",
            Self::EndpointDeleted(_) => "endpoint.deleted",
            Self::EndpointDisabled { .. } => "endpoint.disabled",
            Self::Attempt { kind, .. } => kind.event_type(),
        }
    }

    /// The application the event is about.
    pub fn app_id(&self) -> &AppId {
        match self {
            Self::EndpointCreated(ep)
            | Self::EndpointUpdated(ep)
            | Self::EndpointDeleted(ep)
            | Self::EndpointDisabled { endpoint: ep, .. } => &ep.app_id,
            Self::Attempt { message, .. } => &message.app_id,
        }
    }

    /// The body sent: `{"type": …, "data": {…}}`, the `*Event` schemas of Svix's API.
    pub fn payload(&self, app_uid: Option<&str>) -> Value {
        let data = match self {
            Self::EndpointCreated(ep) | Self::EndpointUpdated(ep) | Self::EndpointDeleted(ep) => {
                endpoint_data(ep, app_uid)
            }
            Self::EndpointDisabled { endpoint, fail_since } => {
                let mut data = endpoint_data(endpoint, app_uid);
                data["failSince"] = json!(fail_since.to_rfc3339());
                data
            }
            Self::Attempt { message, attempt, .. } => json!({
                "appId": message.app_id.as_str(),
                "appUid": app_uid,
                "msgId": message.id.as_str(),
                "msgEventId": message.event_id,
                "endpointId": attempt.endpoint_id.as_str(),
                "lastAttempt": {
                    "id": attempt.id.as_str(),
                    "responseStatusCode": attempt.response_status_code,
                    "timestamp": attempt.created_at.to_rfc3339(),
                },
            }),
        };
        json!({ "type": self.event_type(), "data": data })
    }
}

fn endpoint_data(ep: &Endpoint, app_uid: Option<&str>) -> Value {
    json!({
        "appId": ep.app_id.as_str(),
        "appUid": app_uid,
        "endpointId": ep.id.as_str(),
        "endpointUid": ep.uid,
    })
}

/// Sends operational events into the operational application.
#[derive(Clone)]
pub struct Operational {
    store: Arc<dyn Store>,
    dispatch: DispatchHandle,
    app: AppId,
}

impl std::fmt::Debug for Operational {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operational").field("app", &self.app).finish_non_exhaustive()
    }
}

impl Operational {
    pub fn new(store: Arc<dyn Store>, dispatch: DispatchHandle, app: AppId) -> Self {
        Self { store, dispatch, app }
    }

    /// The operational application's id.
    pub fn app(&self) -> &AppId {
        &self.app
    }

    /// Creates the event as a message of the operational application, delivered to
    /// its endpoints that want its type. Nothing is stored when none does, and
    /// events about the operational application itself are dropped.
    pub async fn emit(&self, event: &OperationalEvent) -> Result<(), StoreError> {
        let subject = event.app_id();
        if *subject == self.app {
            return Ok(());
        }
        let kind = event.event_type();
        let destinations: Vec<Arc<Endpoint>> = self
            .store
            .all_endpoints(&self.app)
            .await?
            .into_iter()
            .filter(|ep| endpoint_wants(ep, kind, None))
            .map(Arc::new)
            .collect();
        if destinations.is_empty() {
            return Ok(());
        }
        let app_uid = self.store.get_app(subject.as_str()).await?.and_then(|a| a.uid);
        let now = Timestamp::now();
        let msg = Message {
            id: MessageId::generate(),
            app_id: self.app.clone(),
            event_type: kind.to_owned(),
            event_id: None,
            payload: Some(event.payload(app_uid.as_deref()).to_string().into()),
            channels: None,
            tags: None,
            created_at: now,
            expires_at: Some(now.plus(RETENTION)),
            inbound: None,
        };
        self.dispatch.commit_and_send(self.store.as_ref(), msg, destinations).await?;
        Ok(())
    }

    /// [`Self::emit`], logging instead of failing: an event that cannot be stored
    /// must not fail what caused it.
    pub async fn emit_or_log(&self, event: &OperationalEvent) {
        if let Err(e) = self.emit(event).await {
            tracing::warn!(error = %e, event = event.event_type(), "could not send an operational webhook");
        }
    }
}

/// Creates the operational application if it is missing and makes its `config-N`
/// endpoints match `urls` (created, URL updated, or deleted when the list shrank).
/// Returns the application's id and those endpoints. Safe to run from several
/// processes at once: whoever creates a row second reads the first one's.
pub async fn ensure_operational_app(
    store: &dyn Store,
    urls: &[String],
) -> Result<(AppId, Vec<Endpoint>), StoreError> {
    let app = ensure_app(store).await?;
    let mut configured = Vec::with_capacity(urls.len());
    for (i, url) in urls.iter().enumerate() {
        configured
            .push(ensure_endpoint(store, &app, &format!("{CONFIG_ENDPOINT_PREFIX}{}", i + 1), url).await?);
    }
    let all = store.all_endpoints(&app).await?;
    for stale in all.iter().filter(|ep| is_config_beyond(ep, urls.len())) {
        match store.delete_endpoint(&app, &stale.id).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((app, configured))
}

async fn ensure_app(store: &dyn Store) -> Result<AppId, StoreError> {
    if let Some(app) = store.get_app(OPERATIONAL_APP_UID).await? {
        return Ok(app.id);
    }
    let now = Timestamp::now();
    let app = Application {
        id: AppId::generate(),
        uid: Some(OPERATIONAL_APP_UID.to_owned()),
        name: "Herald operational webhooks".to_owned(),
        metadata: Default::default(),
        throttle_rate: None,
        created_at: now,
        updated_at: now,
    };
    match store.create_app(&app).await {
        Ok(()) => Ok(app.id),
        Err(StoreError::Conflict(_)) => {
            store.get_app(OPERATIONAL_APP_UID).await?.map(|a| a.id).ok_or(StoreError::NotFound)
        }
        Err(e) => Err(e),
    }
}

async fn ensure_endpoint(
    store: &dyn Store,
    app: &AppId,
    uid: &str,
    url: &str,
) -> Result<Endpoint, StoreError> {
    if let Some(mut ep) = store.get_endpoint(app, uid).await? {
        if ep.url != url {
            ep.url = url.to_owned();
            ep.updated_at = Timestamp::now();
            store.update_endpoint(&ep).await?;
        }
        return Ok(ep);
    }
    let mut ep =
        Endpoint::new(app.clone(), url.to_owned(), SigningKey::generate_symmetric(), Timestamp::now());
    ep.uid = Some(uid.to_owned());
    ep.description = "From HERALD_OPERATIONAL_WEBHOOK_URL".to_owned();
    match store.create_endpoint(&ep).await {
        Ok(()) => Ok(ep),
        Err(StoreError::Conflict(_)) => store.get_endpoint(app, uid).await?.ok_or(StoreError::NotFound),
        Err(e) => Err(e),
    }
}

/// A `config-N` endpoint with `N` past the configured URLs.
fn is_config_beyond(ep: &Endpoint, count: usize) -> bool {
    let n =
        ep.uid.as_deref().and_then(|u| u.strip_prefix(CONFIG_ENDPOINT_PREFIX)).and_then(|n| n.parse().ok());
    n.is_some_and(|n: usize| n > count)
}

#[cfg(test)]
mod tests {
    use herald_core::{AttemptId, DeliveryStatus, Trigger};

    use super::*;
    use crate::fixtures::dispatch;

    #[test]
    fn payloads_have_svix_shapes() {
        let d = dispatch(3, Trigger::Scheduled);
        let mut endpoint = (*d.endpoint).clone();
        endpoint.uid = Some("orders".into());
        let disabled = OperationalEvent::EndpointDisabled {
            endpoint: Arc::new(endpoint),
            fail_since: Timestamp(1_700_000_000_000),
        };
        let body = disabled.payload(Some("acme"));
        assert_eq!(body["type"], "endpoint.disabled");
        assert_eq!(body["data"]["appUid"], "acme");
        assert_eq!(body["data"]["endpointUid"], "orders");
        assert_eq!(body["data"]["failSince"], "2023-11-14T22:13:20.000Z");
        assert_eq!(body["data"]["endpointId"], d.endpoint.id.as_str());

        let attempt = Attempt {
            id: AttemptId::generate(),
            msg_id: d.message.id.clone(),
            endpoint_id: d.endpoint.id.clone(),
            app_id: d.message.app_id.clone(),
            url: d.endpoint.url.clone(),
            request: None,
            status: DeliveryStatus::Failed,
            response_status_code: 503,
            response: String::new(),
            duration_ms: 3,
            trigger: Trigger::Scheduled,
            created_at: Timestamp(1_700_000_000_000),
        };
        let failing = OperationalEvent::Attempt {
            kind: AttemptEvent::Failing,
            message: d.message.clone(),
            attempt: Box::new(attempt.clone()),
        };
        let body = failing.payload(None);
        assert_eq!(body["type"], "message.attempt.failing");
        assert!(body["data"]["appUid"].is_null());
        assert!(body["data"]["msgEventId"].is_null());
        assert_eq!(body["data"]["msgId"], d.message.id.as_str());
        assert_eq!(body["data"]["lastAttempt"]["id"], attempt.id.as_str());
        assert_eq!(body["data"]["lastAttempt"]["responseStatusCode"], 503);
        assert_eq!(failing.app_id(), &d.message.app_id);
    }

    #[test]
    fn only_config_endpoints_past_the_list_are_stale() {
        let d = dispatch(0, Trigger::Scheduled);
        let with_uid = |uid: Option<&str>| Endpoint { uid: uid.map(str::to_owned), ..(*d.endpoint).clone() };
        assert!(is_config_beyond(&with_uid(Some("config-3")), 2));
        assert!(!is_config_beyond(&with_uid(Some("config-2")), 2));
        assert!(!is_config_beyond(&with_uid(Some("pager")), 0));
        assert!(!is_config_beyond(&with_uid(None), 0));
    }
}
