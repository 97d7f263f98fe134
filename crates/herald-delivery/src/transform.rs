//! An endpoint's payload filter and transformation, applied before [`prepare`]
//! builds the request: the filter may drop the message, the transformation may drop
//! it (`Skip`) or choose the method, URL, headers and body actually sent.
//!
//! Both are compiled once per endpoint and kept in [`Shaper`]'s cache, keyed by the
//! endpoint id and checked against the endpoint's current code and filter on every
//! use: an endpoint changed through the API (or by another process) reaches the
//! engine as a new copy, whose different code simply compiles again. Running a
//! transformation is CPU work with its own limits (`herald_transform::Limits`). A
//! template is bounded by fuel (tens of milliseconds at the very worst, a few
//! microseconds usually) and runs right on the calling task: handing it to another
//! thread would cost more than the run. A JavaScript run is bounded by wall-clock time
//! and goes to [`Shaper`]'s own `parallel` threads, fed by a queue, so a runaway script
//! holds one of those threads until its time limit and never an async worker. Dedicated
//! threads, rather than Tokio's blocking pool, keep their QuickJS runtime warm (the
//! blocking pool's threads come and go and are shared with other blocking work) and
//! skip the pool's per-task bookkeeping.
//!
//! [`prepare`]: crate::pipeline::prepare

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use herald_core::{Endpoint, EndpointId, Message, Transformation};
use herald_transform::{Compiled, Filter, Input, Kind, Limits, Outcome, Request};
use serde_json::Value;
use tokio::sync::oneshot;

/// What the filter and transformation decided for one delivery.
#[derive(Debug)]
pub enum Shaped {
    /// No transformation: the message goes out as it is.
    Plain,
    /// The transformation's request: Herald signs its body and sends it.
    Transformed(Request),
    /// Not sent: the filter did not match or the transformation skipped it.
    Filtered(String),
    /// The transformation failed (compile error, exception, limit reached): the
    /// attempt fails with this text.
    Failed(String),
}

/// Why a filtered message was not sent, when the filter (not a transformation) said so.
pub const FILTER_REASON: &str = "the endpoint's filter does not match the message";

/// Compiled filters and transformations by endpoint, and the threads JavaScript runs on.
pub struct Shaper {
    limits: Limits,
    cache: Mutex<HashMap<EndpointId, Arc<Prepared>>>,
    parallel: usize,
    /// Started on the first JavaScript run: a server without JavaScript has none.
    workers: OnceLock<Workers>,
}

/// One JavaScript run, handed to a worker thread.
type Job = Box<dyn FnOnce() + Send>;

/// Threads that run JavaScript, each taking the next job from one shared queue. They end
/// when the queue's sender (the [`Shaper`]) is dropped.
struct Workers {
    queue: mpsc::Sender<Job>,
}

/// A worker's stack: QuickJS stops recursion at 512 KiB of it (`herald-transform`).
const WORKER_STACK_BYTES: usize = 2 * 1024 * 1024;

impl Workers {
    fn start(count: usize) -> Workers {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..count {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("herald-js-{i}"))
                .stack_size(WORKER_STACK_BYTES)
                .spawn(move || {
                    loop {
                        // The lock is held while waiting, so idle workers queue on it and
                        // exactly one waits on the channel.
                        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = job else { return };
                        // A panic drops the job's reply (its delivery fails) and keeps
                        // the thread; the engine drops a runtime whose run did not finish.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a JavaScript worker thread");
            }
        }
        Workers { queue }
    }

    /// Runs `f` on a worker; `None` if no worker could take it.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(f());
        });
        self.queue.send(job).ok()?;
        answer.await.ok()
    }
}

/// One endpoint's compiled filter and transformation, with the source they came from.
struct Prepared {
    filter_src: Option<Value>,
    filter: Option<Result<Filter, String>>,
    transformation: Option<(Transformation, Result<Arc<Compiled>, String>)>,
}

/// Endpoints kept at most; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

impl Shaper {
    /// A shaper running at most `parallel` JavaScript transformations at once, each
    /// within `limits`.
    pub fn new(limits: Limits, parallel: usize) -> Self {
        Self {
            limits,
            cache: Mutex::new(HashMap::new()),
            parallel: parallel.max(1),
            workers: OnceLock::new(),
        }
    }

    /// Filters and transforms `message` for `endpoint`, with what is cached for it.
    pub async fn shape(&self, endpoint: &Arc<Endpoint>, message: &Arc<Message>) -> Shaped {
        if endpoint.filter.is_none() && endpoint.active_transformation().is_none() {
            return Shaped::Plain;
        }
        let compiled = self.compiled(endpoint);
        self.run(&compiled, endpoint, message).await
    }

    /// Like [`Shaper::shape`], with `transformation` in place of the endpoint's own
    /// (enabled or not) and nothing cached: the dry run of code being edited.
    pub async fn dry_run(
        &self,
        endpoint: &Arc<Endpoint>,
        transformation: Option<&Transformation>,
        message: &Arc<Message>,
    ) -> Shaped {
        let compiled = Arc::new(compile(endpoint.filter.as_ref(), transformation));
        self.run(&compiled, endpoint, message).await
    }

    fn compiled(&self, endpoint: &Endpoint) -> Arc<Prepared> {
        let wanted = endpoint.active_transformation();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(entry) = cache.get(&endpoint.id)
                && entry.filter_src.as_ref() == endpoint.filter.as_ref()
                && entry.transformation.as_ref().map(|(t, _)| t) == wanted
            {
                return entry.clone();
            }
        }
        // Compiling outside the lock: two workers may both compile a new version once.
        let entry = Arc::new(compile(endpoint.filter.as_ref(), wanted));
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(endpoint.id.clone(), entry.clone());
        entry
    }

    async fn run(
        &self,
        compiled: &Arc<Prepared>,
        endpoint: &Arc<Endpoint>,
        message: &Arc<Message>,
    ) -> Shaped {
        let payload = payload_value(message);
        let inbound = message.inbound.as_ref().map(|o| o.headers.as_slice());
        match &compiled.filter {
            Some(Err(e)) => return Shaped::Failed(format!("the endpoint's filter is not valid: {e}")),
            Some(Ok(filter)) if !filter.matches(&payload, inbound) => {
                return Shaped::Filtered(FILTER_REASON.to_owned());
            }
            _ => {}
        }
        let Some((_, code)) = &compiled.transformation else { return Shaped::Plain };
        let code = match code {
            Ok(code) => code.clone(),
            Err(e) => return Shaped::Failed(e.clone()),
        };
        let ran = match code.kind() {
            Kind::Template => Some(code.run(&input(endpoint, message, &payload), &self.limits)),
            Kind::Javascript => {
                let (endpoint, message, limits) = (endpoint.clone(), message.clone(), self.limits);
                let workers = self.workers.get_or_init(|| Workers::start(self.parallel));
                workers.run(move || code.run(&input(&endpoint, &message, &payload), &limits)).await
            }
        };
        match ran {
            Some(Ok(Outcome::Send(request))) => Shaped::Transformed(request),
            Some(Ok(Outcome::Skip { reason })) => Shaped::Filtered(reason),
            Some(Err(e)) => Shaped::Failed(e.to_string()),
            None => Shaped::Failed("transformation failed: the run did not finish".to_owned()),
        }
    }
}

fn compile(filter: Option<&Value>, transformation: Option<&Transformation>) -> Prepared {
    Prepared {
        filter_src: filter.cloned(),
        filter: filter.map(|f| Filter::parse(f).map_err(|e| e.to_string())),
        transformation: transformation.map(|t| {
            let compiled = Compiled::new(t.kind, &t.code).map(Arc::new).map_err(|e| e.to_string());
            (t.clone(), compiled)
        }),
    }
}

/// The payload as JSON for filters and transformations; an inbound body that is not
/// JSON is given as a string (or `null` once expunged).
fn payload_value(message: &Message) -> Value {
    let Some(bytes) = &message.payload else { return Value::Null };
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

fn input<'a>(endpoint: &'a Endpoint, message: &'a Message, payload: &'a Value) -> Input<'a> {
    Input {
        event_type: &message.event_type,
        payload,
        msg_id: message.id.as_str(),
        event_id: message.event_id.as_deref(),
        channels: message.channels.as_deref().unwrap_or_default(),
        tags: message.tags.as_deref().unwrap_or_default(),
        timestamp: message.created_at.seconds(),
        url: &endpoint.url,
        headers: &endpoint.headers,
        inbound_headers: message.inbound.as_ref().map(|o| o.headers.as_slice()),
    }
}

#[cfg(test)]
mod tests {
    use herald_core::{Timestamp, TransformKind, Trigger, signing};

    use super::*;
    use crate::fixtures::dispatch;
    use crate::pipeline::prepare_shaped;

    fn shaper() -> Shaper {
        Shaper::new(Limits::default(), 2)
    }

    fn with(d: &mut crate::Dispatch, kind: TransformKind, code: &str) {
        Arc::make_mut(&mut d.endpoint).transformation =
            Some(Transformation { kind, code: code.into(), enabled: true });
    }

    #[tokio::test]
    async fn no_filter_and_no_transformation_is_plain() {
        let d = dispatch(0, Trigger::Scheduled);
        assert!(matches!(shaper().shape(&d.endpoint, &d.message).await, Shaped::Plain));
        let mut off = dispatch(0, Trigger::Scheduled);
        with(&mut off, TransformKind::Javascript, "function handler(w) { w.cancel = true; return w }");
        Arc::make_mut(&mut off.endpoint).transformation.as_mut().expect("set").enabled = false;
        assert!(matches!(shaper().shape(&off.endpoint, &off.message).await, Shaped::Plain), "disabled code");
    }

    #[tokio::test]
    async fn the_transformed_request_is_sent_and_signed_over_its_own_body() {
        let mut d = dispatch(0, Trigger::Scheduled);
        with(
            &mut d,
            TransformKind::Template,
            r#"{"method": "PUT", "url": "{{ url }}/x", "body": "a={{ payload.amount }}"}"#,
        );
        let Shaped::Transformed(request) = shaper().shape(&d.endpoint, &d.message).await else {
            panic!("expected a transformed request")
        };
        let now = Timestamp(1_700_000_000_500);
        let req = prepare_shaped(&d, Some(request), now).expect("prepares");
        assert_eq!((req.method.as_str(), req.url.as_str()), ("PUT", "https://hooks.example.com/in/x"));
        assert_eq!(&req.body[..], b"a=42");
        let h = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(h("webhook-id"), d.message.id.as_str(), "a custom header cannot replace Herald's");
        assert_eq!(h("x-team"), "blue", "the endpoint's headers are kept by default");
        let verdict = signing::verify(
            &d.endpoint.secrets.current,
            d.message.id.as_str(),
            1_700_000_000,
            b"a=42",
            &h("webhook-signature"),
            None,
        );
        assert_eq!(verdict, Ok(()));
    }

    #[tokio::test]
    async fn a_skip_filters_and_an_error_fails_with_its_text() {
        let mut d = dispatch(0, Trigger::Scheduled);
        with(&mut d, TransformKind::Javascript, "function handler(w) { w.cancel = true; return w }");
        assert!(matches!(shaper().shape(&d.endpoint, &d.message).await, Shaped::Filtered(_)));
        with(&mut d, TransformKind::Javascript, "function handler(w) { throw new Error('no way') }");
        let Shaped::Failed(text) = shaper().shape(&d.endpoint, &d.message).await else {
            panic!("expected a failure")
        };
        assert!(text.contains("no way"), "{text}");
        with(&mut d, TransformKind::Javascript, "function handler(w) { while (true) {} }");
        let Shaped::Failed(text) = shaper().shape(&d.endpoint, &d.message).await else {
            panic!("expected a failure")
        };
        assert!(text.contains("ran longer than"), "{text}");
    }

    #[tokio::test]
    async fn a_changed_endpoint_is_compiled_again() {
        let shaper = shaper();
        let mut d = dispatch(0, Trigger::Scheduled);
        with(&mut d, TransformKind::Template, r#"{"body": "one"}"#);
        let body = async |d: &crate::Dispatch| match shaper.shape(&d.endpoint, &d.message).await {
            Shaped::Transformed(r) => r.body,
            other => panic!("expected a request, got {other:?}"),
        };
        assert_eq!(body(&d).await, b"one");
        assert_eq!(body(&d).await, b"one", "from the cache");
        with(&mut d, TransformKind::Template, r#"{"body": "two"}"#);
        assert_eq!(body(&d).await, b"two", "the new code, not the cached one");
    }

    #[tokio::test]
    async fn a_filter_decides_before_the_transformation() {
        let mut d = dispatch(0, Trigger::Scheduled);
        Arc::make_mut(&mut d.endpoint).filter = Some(serde_json::json!({"amount": {"$gt": 100}}));
        assert!(
            matches!(shaper().shape(&d.endpoint, &d.message).await, Shaped::Filtered(r) if r == FILTER_REASON)
        );
        Arc::make_mut(&mut d.endpoint).filter = Some(serde_json::json!({"amount": {"$lt": 100}}));
        assert!(matches!(shaper().shape(&d.endpoint, &d.message).await, Shaped::Plain));
    }
}
