//! The JavaScript form: `function handler(webhook) { …; return webhook }` in a QuickJS sandbox.
//!
//! The sandbox is QuickJS's language core and nothing else: no `require`, modules, `fetch`,
//! timers, files, environment or `std`/`os` objects (rquickjs does not ship quickjs-libc, and
//! the context gets only the intrinsics listed in [`Intrinsics`]). `Date`, `RegExp`, `JSON`,
//! `Map`/`Set` and typed arrays are there.
//!
//! Each run gets a fresh context (globals from one message never reach the next) on a runtime
//! kept per thread, because creating a runtime costs more than a context; a run that hit a
//! limit drops its thread's runtime so the next run starts clean. Limits:
//! - time: the interrupt handler, polled by QuickJS every few thousand instructions and inside
//!   regular-expression matching, stops the run once the deadline passed;
//! - memory: the runtime's allocation limit (the engine's own baseline, about 100 KiB, counts
//!   toward it);
//! - stack: QuickJS's stack limit turns deep recursion into a `RangeError` before the thread's
//!   stack is at risk.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Instant;

use rquickjs::context::EvalOptions;
use rquickjs::context::intrinsic::{Date, Eval, Json, MapSet, Promise, RegExp, RegExpCompiler, TypedArrays};
use rquickjs::{Coerced, Context, Ctx, Exception, FromJs, Function, Object, Runtime, Value};

use crate::request::{self, has_header, set_header};
use crate::{Input, Limits, Outcome, Request, TransformError};

/// The file name QuickJS puts in error positions: they are parsed back out of stacks.
const FILE_NAME: &str = "transformation.js";
/// QuickJS's stack limit, well inside the 2 MiB of a Tokio blocking thread, the delivery
/// engine's JavaScript threads or a test thread.
const MAX_STACK_BYTES: usize = 512 * 1024;

/// `Promise` is there because the language needs it (`async` functions, `import()`) even
/// though a handler's promises never run: see [`with_engine`].
type Intrinsics = (Date, Eval, RegExpCompiler, RegExp, Json, MapSet, TypedArrays, Promise);

/// A checked JavaScript transformation. Holds only the source: `Send + Sync` by construction;
/// every run evaluates it in a fresh context.
#[derive(Debug)]
pub(crate) struct Program {
    /// The source followed by [`LOOKUP`], so that a run parses one script rather than two.
    /// Made only from code [`Program::new`] accepted: a syntax error's position always comes
    /// from the source alone.
    runnable: String,
}

/// Finds `handler` by name, not on `globalThis`: `const handler = …` is a global binding that
/// is not a property of the global object.
const LOOKUP: &str = "typeof handler === 'function' ? handler : undefined";

impl Program {
    pub(crate) fn new(code: &str) -> Result<Program, TransformError> {
        with_engine(&Limits::default(), |ctx| {
            evaluate::<()>(ctx, code)?;
            let found = ctx.eval(LOOKUP).map_err(|e| error(ctx, e))?;
            handler(found).map(drop)
        })
        .map_err(|e| match e {
            TransformError::Failed { message, line, column } => {
                TransformError::Invalid { message, line, column }
            }
            TransformError::BadOutput(message) => TransformError::invalid(message),
            other => TransformError::invalid(other.to_string()),
        })?;
        // On a line of its own after a `;`: whatever the source ends with (a line comment,
        // an expression without a semicolon) is finished before the lookup starts.
        Ok(Program { runnable: format!("{code}\n;{LOOKUP}") })
    }

    pub(crate) fn run(&self, input: &Input, limits: &Limits) -> Result<Outcome, TransformError> {
        with_engine(limits, |ctx| {
            let handler = handler(evaluate(ctx, &self.runnable)?)?;
            let webhook = ctx.json_parse(webhook_json(input)).map_err(|e| error(ctx, e))?;
            let result: Value = handler.call((webhook,)).map_err(|e| error(ctx, e))?;
            outcome(ctx, input, result)
        })
    }
}

/// Evaluates `code` as a sloppy-mode script named [`FILE_NAME`]; its completion value.
fn evaluate<'js, V: FromJs<'js>>(ctx: &Ctx<'js>, code: &str) -> Result<V, TransformError> {
    let mut options = EvalOptions::default();
    options.strict = false;
    options.filename = Some(FILE_NAME.to_owned());
    ctx.eval_with_options(code.as_bytes(), options).map_err(|e| error(ctx, e))
}

/// The function [`LOOKUP`] found.
fn handler(found: Value<'_>) -> Result<Function<'_>, TransformError> {
    found.into_function().ok_or_else(|| {
        TransformError::BadOutput(
            "the code must define `function handler(webhook) { … return webhook; }`".to_owned(),
        )
    })
}

/// The per-thread runtime and what its interrupt handler reads.
struct Engine {
    runtime: Runtime,
    deadline: Rc<Cell<Option<Instant>>>,
    interrupted: Rc<Cell<bool>>,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

impl Engine {
    fn new() -> Result<Engine, TransformError> {
        let runtime =
            Runtime::new().map_err(|e| TransformError::failed(format!("cannot start JavaScript: {e}")))?;
        runtime.set_max_stack_size(MAX_STACK_BYTES);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::default();
        let interrupted: Rc<Cell<bool>> = Rc::default();
        let (d, i) = (deadline.clone(), interrupted.clone());
        runtime.set_interrupt_handler(Some(Box::new(move || {
            let late = d.get().is_some_and(|deadline| Instant::now() >= deadline);
            if late {
                i.set(true);
            }
            late
        })));
        Ok(Engine { runtime, deadline, interrupted })
    }
}

/// Runs `f` in a fresh context on this thread's runtime, within `limits`.
fn with_engine<T>(
    limits: &Limits,
    f: impl for<'js> FnOnce(&Ctx<'js>) -> Result<T, TransformError>,
) -> Result<T, TransformError> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let engine = match slot.take() {
            Some(engine) => engine,
            None => Engine::new()?,
        };
        engine.runtime.set_memory_limit(limits.memory_bytes);
        engine.interrupted.set(false);
        // A limit too far ahead to represent means no deadline.
        engine.deadline.set(Instant::now().checked_add(limits.time));
        let result = Context::custom::<Intrinsics>(&engine.runtime)
            .map_err(|_| TransformError::OutOfMemory { limit: limits.memory_bytes })
            .and_then(|context| context.with(|ctx| f(&ctx)));
        engine.deadline.set(None);
        let result = match result {
            Err(_) if engine.interrupted.get() => Err(TransformError::Timeout { limit: limits.time }),
            Err(TransformError::OutOfMemory { .. }) => {
                Err(TransformError::OutOfMemory { limit: limits.memory_bytes })
            }
            other => other,
        };
        match &result {
            // A run stopped at a limit may have left the runtime in an odd state, and promise
            // jobs a handler queued must not run later (outside its limits): start over.
            Err(e) if e.is_limit() => drop(engine),
            _ if engine.runtime.is_job_pending() => drop(engine),
            _ => {
                engine.runtime.run_gc();
                *slot = Some(engine);
            }
        }
        result
    })
}

/// The `webhook` object a handler receives, as JSON (parsed by the engine's `JSON.parse`,
/// the fastest way in). Written straight from the borrowed input, the payload not copied.
fn webhook_json(input: &Input) -> String {
    // Fields in alphabetical order, the order a handler has always seen them in.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Webhook<'a> {
        cancel: bool,
        channels: &'a [String],
        event_id: Option<&'a str>,
        event_type: &'a str,
        headers: &'a BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        inbound_headers: Option<BTreeMap<String, &'a str>>,
        method: &'static str,
        msg_id: &'a str,
        payload: &'a serde_json::Value,
        tags: &'a [String],
        timestamp: i64,
        url: &'a str,
    }
    let webhook = Webhook {
        cancel: false,
        channels: input.channels,
        event_id: input.event_id,
        event_type: input.event_type,
        headers: input.headers,
        inbound_headers: input.inbound_headers.map(|headers| {
            headers.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.as_str())).collect()
        }),
        method: "POST",
        msg_id: input.msg_id,
        payload: input.payload,
        tags: input.tags,
        timestamp: input.timestamp,
        url: input.url,
    };
    serde_json::to_string(&webhook).unwrap_or_else(|_| "{}".to_owned())
}

/// Reads what the handler returned.
fn outcome<'js>(ctx: &Ctx<'js>, input: &Input, result: Value<'js>) -> Result<Outcome, TransformError> {
    let bad = |what: &str| TransformError::BadOutput(what.to_owned());
    if result.is_promise() {
        return Err(bad(
            "handler must return the webhook object, not a Promise (async handlers are not supported)",
        ));
    }
    let webhook: Object =
        result.into_object().ok_or_else(|| bad("handler must return the webhook object"))?;
    let get =
        |key: &str| -> Result<Value<'js>, TransformError> { webhook.get(key).map_err(|e| error(ctx, e)) };
    if get("cancel")?.as_bool() == Some(true) {
        return Ok(Outcome::Skip { reason: "cancelled by the transformation".to_owned() });
    }
    let default = request::default_request(input);
    let method = string_field(ctx, get("method")?, "method")?.unwrap_or(default.method);
    let url = string_field(ctx, get("url")?, "url")?.unwrap_or(default.url);
    let headers = headers(ctx, get("headers")?)?.unwrap_or(default.headers);
    let payload = get("payload")?;
    let body = if payload.is_undefined() {
        Vec::new()
    } else if let Some(text) = payload.as_string() {
        text.to_string().map_err(|e| error(ctx, e))?.into_bytes()
    } else {
        let text = ctx.json_stringify(payload).map_err(|e| error(ctx, e))?;
        match text {
            Some(text) => text.to_string().map_err(|e| error(ctx, e))?.into_bytes(),
            None => Vec::new(),
        }
    };
    let mut request = Request { method, url, headers, body };
    if request.body.is_empty() {
        // Nothing to describe: an empty POST (a build hook).
    } else if !has_header(&request.headers, "content-type") {
        set_header(&mut request.headers, "Content-Type", request::JSON.to_owned());
    }
    request::validate(request).map(Outcome::Send)
}

fn string_field<'js>(
    ctx: &Ctx<'js>,
    value: Value<'js>,
    name: &str,
) -> Result<Option<String>, TransformError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_string() {
        Some(text) => text.to_string().map(Some).map_err(|e| error(ctx, e)),
        None => Err(TransformError::BadOutput(format!("webhook.{name} must be a string"))),
    }
}

/// `webhook.headers`: an object of header name → value (numbers and booleans are turned
/// into text; `null`/`undefined` drop the header).
fn headers<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Option<Vec<(String, String)>>, TransformError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let object = value
        .into_object()
        .ok_or_else(|| TransformError::BadOutput("webhook.headers must be an object".to_owned()))?;
    let mut headers = Vec::new();
    for entry in object.props::<String, Value>() {
        let (name, value) = entry.map_err(|e| error(ctx, e))?;
        if value.is_undefined() || value.is_null() {
            continue;
        }
        let Coerced(text) = value.get::<Coerced<String>>().map_err(|e| error(ctx, e))?;
        headers.push((name, text));
    }
    Ok(Some(headers))
}

/// Turns an engine error into a [`TransformError`], reading the pending exception.
fn error(ctx: &Ctx<'_>, e: rquickjs::Error) -> TransformError {
    match e {
        rquickjs::Error::Exception => exception(ctx.catch()),
        rquickjs::Error::Allocation => TransformError::OutOfMemory { limit: 0 },
        other => TransformError::failed(other.to_string()),
    }
}

fn exception(value: Value<'_>) -> TransformError {
    // QuickJS throws `null` when it runs out of memory while making the error object itself.
    // (A handler's own `throw null` reads the same: a price worth a clear OOM message.)
    if value.is_null() {
        return TransformError::OutOfMemory { limit: 0 };
    }
    let Some(exception) = value.as_object().cloned().and_then(Exception::from_object) else {
        let text = value
            .get::<Coerced<String>>()
            .map(|c| c.0)
            .unwrap_or_else(|_| "a value that is not an Error".to_owned());
        return TransformError::failed(format!("uncaught exception: {text}"));
    };
    let message = exception.message().unwrap_or_default();
    let name: String =
        exception.get::<_, Coerced<String>>("name").map(|c| c.0).unwrap_or_else(|_| "Error".to_owned());
    if name == "InternalError" && message == "out of memory" {
        return TransformError::OutOfMemory { limit: 0 };
    }
    if name == "RangeError" && message == "Maximum call stack size exceeded" {
        return TransformError::StackOverflow;
    }
    let (line, column) = exception.stack().as_deref().and_then(position).unzip();
    TransformError::Failed { message: format!("{name}: {message}"), line, column: column.flatten() }
}

/// The first `transformation.js:LINE:COLUMN` of a stack trace.
fn position(stack: &str) -> Option<(u32, Option<u32>)> {
    let at = stack.find(FILE_NAME)? + FILE_NAME.len();
    let mut numbers =
        stack[at..].strip_prefix(':')?.split(|c: char| !c.is_ascii_digit()).map(|n| n.parse::<u32>().ok());
    let line = numbers.next()??;
    Some((line, numbers.next().flatten()))
}

#[cfg(test)]
mod tests {
    use super::position;

    #[test]
    fn positions_come_from_the_first_frame_in_the_code() {
        assert_eq!(position("    at handler (transformation.js:3:10)\n    at <eval>\n"), Some((3, Some(10))));
        assert_eq!(position("    at transformation.js:2\n"), Some((2, None)));
        assert_eq!(position("    at <native>\n"), None);
    }
}
