//! The template form: a JSON object whose fields are minijinja templates.
//!
//! ```json
//! {
//!   "vars":    {"title": "{{ event_type }}: {{ payload.summary }}"},
//!   "method":  "POST",
//!   "url":     "{{ url }}/hooks?id={{ payload.id | urlencode }}",
//!   "headers": {"Content-Type": "application/json", "X-Drop-Me": ""},
//!   "json":    {"text": "{{ vars.title }}", "amount": "{{ payload.amount }}"},
//!   "skip":    "{{ payload.amount < 10 }}"
//! }
//! ```
//!
//! Every field is optional and defaults to the request Herald sends without a transformation.
//! `body` is a text template; `json` is a JSON value whose strings are templates (a string
//! that is one `{{ expression }}` keeps the expression's JSON type, and one that renders
//! `omit` is left out with its key: `"url": "{{ payload.link or omit }}"`). A run is bounded by fuel
//! (instructions and allocations), derived from [`Limits::memory_bytes`].

mod helpers;

use std::collections::{BTreeMap, HashMap};

use minijinja::value::{Serde, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value as Json;

use crate::request::{self, has_header, set_header};
use crate::{Input, Limits, Outcome, Request, TransformError};

/// The fields a template transformation may have.
const FIELDS: &[&str] = &["vars", "method", "url", "headers", "body", "json", "skip", "skipReason"];

/// A checked template transformation: its templates live in one minijinja environment.
#[derive(Debug)]
pub(crate) struct Program {
    env: Environment<'static>,
    /// Fields that are plain text, by template name.
    literals: HashMap<String, String>,
    fuel: u64,
    vars: Vec<String>,
    headers: Vec<String>,
    has: Has,
    /// The `json` field's shape, its strings replaced by the names of their templates.
    json: Option<JsonShape>,
}

/// Which single-template fields the code has.
#[derive(Debug, Default)]
struct Has {
    method: bool,
    url: bool,
    body: bool,
    skip: bool,
    skip_reason: bool,
}

/// The `json` field: the JSON structure with a template name at each string leaf.
#[derive(Debug)]
enum JsonShape {
    Literal(Json),
    /// A text template: the leaf becomes a JSON string.
    Text(String),
    /// A single-expression template rendered through `tojson`: the leaf keeps its type.
    Typed(String),
    Array(Vec<JsonShape>),
    Object(Vec<(String, JsonShape)>),
}

impl Program {
    pub(crate) fn new(code: &str) -> Result<Program, TransformError> {
        let spec: serde_json::Map<String, Json> =
            serde_json::from_str(code).map_err(|e| TransformError::Invalid {
                message: format!("the template transformation must be a JSON object: {e}"),
                line: u32::try_from(e.line()).ok().filter(|l| *l > 0),
                column: u32::try_from(e.column()).ok().filter(|c| *c > 0),
            })?;
        if let Some(unknown) = spec.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(TransformError::invalid(format!(
                "unknown field {unknown:?} (the fields are {})",
                FIELDS.join(", ")
            )));
        }
        if spec.contains_key("body") && spec.contains_key("json") {
            return Err(TransformError::invalid("give either \"body\" (text) or \"json\", not both"));
        }
        let fuel = Limits::default().template_fuel();
        let mut builder = Builder { env: environment(fuel), literals: HashMap::new() };
        let mut has = Has::default();
        for (field, flag) in [
            ("method", &mut has.method),
            ("url", &mut has.url),
            ("body", &mut has.body),
            ("skip", &mut has.skip),
            ("skipReason", &mut has.skip_reason),
        ] {
            if let Some(value) = spec.get(field) {
                builder.add(field, string_field(field, value)?)?;
                *flag = true;
            }
        }
        let vars = builder.add_map("vars", spec.get("vars"))?;
        let headers = builder.add_map("headers", spec.get("headers"))?;
        let json = spec.get("json").map(|v| builder.add_json("json", v)).transpose()?;
        Ok(Program { env: builder.env, literals: builder.literals, fuel, vars, headers, has, json })
    }

    pub(crate) fn run(&self, input: &Input, limits: &Limits) -> Result<Outcome, TransformError> {
        let fuel = limits.template_fuel();
        let adjusted;
        let env = if fuel == self.fuel {
            &self.env
        } else {
            let mut env = self.env.clone();
            env.set_fuel(Some(fuel));
            adjusted = env;
            &adjusted
        };
        let run = Run { env, literals: &self.literals, limits, fuel };
        let mut context = context(input);
        if !self.vars.is_empty() {
            let base = Value::from(context.clone());
            let mut vars = BTreeMap::new();
            for name in &self.vars {
                vars.insert(name.clone(), run.render(&format!("vars.{name}"), &base)?);
            }
            context.insert("vars", Value::from(vars));
        }
        let context = Value::from(context);
        if self.has.skip && truthy("skip", &run.render("skip", &context)?)? {
            let reason = match self.has.skip_reason {
                true => run.render("skipReason", &context)?,
                false => "skipped by the transformation".to_owned(),
            };
            return Ok(Outcome::Skip { reason });
        }
        let mut request = request::default_request(input);
        if self.has.method {
            request.method = run.render("method", &context)?;
        }
        if self.has.url {
            request.url = run.render("url", &context)?;
        }
        let mut content_type_set = false;
        for name in &self.headers {
            let value = run.render(&format!("headers.{name}"), &context)?;
            content_type_set |= name.eq_ignore_ascii_case("content-type");
            set_header(&mut request.headers, name, value);
        }
        if self.has.body {
            request.body = run.render("body", &context)?.into_bytes();
        } else if let Some(shape) = &self.json {
            let body = run.json(shape, &context)?.unwrap_or(Json::Null);
            request.body =
                serde_json::to_vec(&body).map_err(|e| TransformError::failed(format!("json: {e}")))?;
        }
        finish(request, content_type_set).map(Outcome::Send)
    }
}

/// Drops the default `Content-Type` from a request whose body the template emptied (a build
/// hook's empty POST), unless the template set it itself; then checks the request.
fn finish(mut request: Request, content_type_set: bool) -> Result<Request, TransformError> {
    if request.body.is_empty() && !content_type_set && has_header(&request.headers, "content-type") {
        set_header(&mut request.headers, "Content-Type", String::new());
    }
    request::validate(request)
}

fn environment(fuel: u64) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(fuel));
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    helpers::register(&mut env);
    env
}

/// The variables a template sees.
fn context(input: &Input) -> BTreeMap<&'static str, Value> {
    let inbound = input.inbound_headers.map(|headers| {
        headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .collect::<BTreeMap<_, _>>()
    });
    BTreeMap::from([
        ("event_type", Value::from(input.event_type)),
        ("payload", Value::from(Serde(input.payload))),
        ("msg_id", Value::from(input.msg_id)),
        ("event_id", Value::from(input.event_id)),
        ("channels", Value::from(input.channels.to_vec())),
        ("tags", Value::from(input.tags.to_vec())),
        ("timestamp", Value::from(input.timestamp)),
        ("url", Value::from(input.url)),
        ("headers", Value::from(input.headers.clone())),
        ("inbound_headers", Value::from(inbound)),
    ])
}

fn string_field<'a>(field: &str, value: &'a Json) -> Result<&'a str, TransformError> {
    value
        .as_str()
        .ok_or_else(|| TransformError::invalid(format!("field {field:?} must be a string (a template)")))
}

/// Whether a rendered `skip` says to skip.
fn truthy(field: &str, rendered: &str) -> Result<bool, TransformError> {
    match rendered.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" | "none" => Ok(false),
        "true" | "1" | "yes" => Ok(true),
        other => {
            Err(TransformError::BadOutput(format!("{field} rendered {other:?}; expected true or false")))
        }
    }
}

/// Adds the code's templates to the environment, each under the name of its field.
struct Builder {
    env: Environment<'static>,
    /// Fields with no template syntax: their text is their output, no render needed.
    literals: HashMap<String, String>,
}

impl Builder {
    fn add(&mut self, name: &str, source: &str) -> Result<(), TransformError> {
        if is_literal(source) {
            self.literals.insert(name.to_owned(), source.to_owned());
            return Ok(());
        }
        self.env.add_template_owned(name.to_owned(), source.to_owned()).map_err(|e| compile_error(name, &e))
    }

    /// A map of templates (`vars`, `headers`): returns the names, in order.
    fn add_map(&mut self, field: &str, value: Option<&Json>) -> Result<Vec<String>, TransformError> {
        let Some(value) = value else { return Ok(Vec::new()) };
        let map = value.as_object().ok_or_else(|| {
            TransformError::invalid(format!("field {field:?} must be an object of templates"))
        })?;
        let mut names = Vec::with_capacity(map.len());
        for (name, template) in map {
            let path = format!("{field}.{name}");
            self.add(&path, string_field(&path, template)?)?;
            names.push(name.clone());
        }
        Ok(names)
    }

    fn add_json(&mut self, path: &str, value: &Json) -> Result<JsonShape, TransformError> {
        Ok(match value {
            Json::String(source) => match single_expression(source) {
                Some(expr) if self.add(path, &format!("{{{{ ({expr}) | tojson }}}}")).is_ok() => {
                    JsonShape::Typed(path.to_owned())
                }
                _ if is_literal(source) => JsonShape::Literal(value.clone()),
                _ => {
                    self.add(path, source)?;
                    JsonShape::Text(path.to_owned())
                }
            },
            Json::Array(items) => JsonShape::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.add_json(&format!("{path}[{i}]"), item))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => JsonShape::Object(
                map.iter()
                    .map(|(key, item)| Ok((key.clone(), self.add_json(&format!("{path}.{key}"), item)?)))
                    .collect::<Result<_, TransformError>>()?,
            ),
            other => JsonShape::Literal(other.clone()),
        })
    }
}

/// Whether a template is plain text: no tags, and no trailing newline (which minijinja
/// would trim).
fn is_literal(source: &str) -> bool {
    !["{{", "{%", "{#"].iter().any(|tag| source.contains(tag)) && !source.ends_with('\n')
}

/// The expression of a template that is exactly one `{{ expression }}`, if it is one.
fn single_expression(source: &str) -> Option<&str> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let nested = ["{{", "}}", "{%", "%}", "{#"].iter().any(|m| inner.contains(m));
    (!nested && !inner.trim().is_empty()).then_some(inner)
}

fn compile_error(name: &str, e: &minijinja::Error) -> TransformError {
    TransformError::Invalid {
        message: format!("template {name:?}: {}", describe(e)),
        line: e.line().and_then(|l| u32::try_from(l).ok()),
        column: None,
    }
}

fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// One run: renders templates with the run's fuel and output cap.
struct Run<'a> {
    env: &'a Environment<'static>,
    literals: &'a HashMap<String, String>,
    limits: &'a Limits,
    fuel: u64,
}

impl Run<'_> {
    fn render(&self, name: &str, context: &Value) -> Result<String, TransformError> {
        if let Some(text) = self.literals.get(name) {
            return Ok(text.clone());
        }
        let template = self
            .env
            .get_template(name)
            .map_err(|e| TransformError::failed(format!("template {name:?}: {}", describe(&e))))?;
        let output = template.render(context).map_err(|e| self.run_error(name, &e))?;
        if output.len() > self.limits.memory_bytes {
            return Err(TransformError::OutOfMemory { limit: self.limits.memory_bytes });
        }
        Ok(output)
    }

    fn run_error(&self, name: &str, e: &minijinja::Error) -> TransformError {
        match e.kind() {
            ErrorKind::OutOfFuel => TransformError::OutOfFuel { fuel: self.fuel },
            _ => TransformError::Failed {
                message: format!("template {name:?}: {}", describe(e)),
                line: e.line().and_then(|l| u32::try_from(l).ok()),
                column: None,
            },
        }
    }

    /// Renders the `json` field; `None` for a leaf that rendered [`helpers::OMIT`] (its key
    /// or array element is left out).
    fn json(&self, shape: &JsonShape, context: &Value) -> Result<Option<Json>, TransformError> {
        let value = match shape {
            JsonShape::Literal(value) => value.clone(),
            JsonShape::Text(name) => Json::String(self.render(name, context)?),
            JsonShape::Typed(name) => {
                let rendered = self.render(name, context)?;
                serde_json::from_str(&rendered).map_err(|e| TransformError::failed(format!("{name}: {e}")))?
            }
            JsonShape::Array(items) => Json::Array(
                items.iter().filter_map(|i| self.json(i, context).transpose()).collect::<Result<_, _>>()?,
            ),
            JsonShape::Object(fields) => Json::Object(
                fields
                    .iter()
                    .filter_map(|(key, item)| {
                        self.json(item, context).map(|v| v.map(|v| (key.clone(), v))).transpose()
                    })
                    .collect::<Result<_, TransformError>>()?,
            ),
        };
        Ok((value.as_str() != Some(helpers::OMIT)).then_some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_expressions_are_recognised() {
        assert_eq!(single_expression("{{ payload.a }}"), Some(" payload.a "));
        assert_eq!(single_expression(" {{- x -}} "), Some(" x "));
        assert_eq!(single_expression("{{ a }} and {{ b }}"), None);
        assert_eq!(single_expression("x {{ a }}"), None);
        assert_eq!(single_expression("{{ }}"), None);
        assert_eq!(single_expression("{% if a %}{{ a }}{% endif %}"), None);
    }

    #[test]
    fn plain_text_needs_no_render() {
        assert!(is_literal("application/json"));
        assert!(is_literal("50% off }}"));
        assert!(!is_literal("{{ url }}"));
        assert!(!is_literal("{% if a %}x{% endif %}"));
        assert!(!is_literal("a {# note #}"));
        assert!(!is_literal("line\n"), "minijinja trims a trailing newline: render it");
    }

    #[test]
    fn skip_accepts_the_usual_spellings() {
        for yes in ["true", " True ", "1", "yes"] {
            assert_eq!(truthy("skip", yes), Ok(true), "{yes}");
        }
        for no in ["", "false", "0", "no", "None"] {
            assert_eq!(truthy("skip", no), Ok(false), "{no}");
        }
        assert!(truthy("skip", "perhaps").is_err());
    }
}
