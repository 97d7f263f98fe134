//! Ready-made destinations: each a documented template with parameters, giving the
//! transformation code and the endpoint headers (auth) for a receiving service.
//!
//! A preset's code is a template transformation whose `vars` hold its parameters: choosing a
//! preset fills `vars` with the user's values (which may themselves use template syntax, e.g.
//! a summary `"Order {{ payload.id }} paid"`). Secrets never enter the code: they become
//! endpoint headers ([`Auth`]). The code files (`src/presets/*.json`) are what users copy and
//! adapt; `tests/presets.rs` checks each rendered request field by field against the
//! receiving service's documented shape.

mod catalog;

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value as Json;

use crate::{Compiled, Kind, TransformError};

pub use catalog::PRESETS;

/// A ready-made destination.
#[derive(Debug)]
pub struct Preset {
    /// Stable identifier, e.g. `slack`.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    /// The transformation code with its default `vars`.
    pub code: &'static str,
    pub params: &'static [Param],
    /// What the endpoint URL should be (e.g. "the Slack incoming-webhook URL").
    pub url_hint: &'static str,
    /// The endpoint headers that authenticate the request, made from secret params.
    pub auth: Auth,
}

/// A value the user gives when choosing a preset (an account SID, a phone number, …).
#[derive(Debug)]
pub struct Param {
    /// The key in the code's `vars` (or, for a secret, in [`Auth`]).
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// Secrets go into endpoint headers, never into the code.
    pub secret: bool,
    /// The value used when the param is not given: the code's own `vars` entry.
    pub default: Option<&'static str>,
}

/// How a preset authenticates: endpoint headers built from params at instantiation.
#[derive(Debug, Clone, Copy)]
pub enum Auth {
    None,
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        user: Credential,
        password: Credential,
    },
    /// `NAME: PREFIX<param>`, e.g. `Authorization: Bearer <key>`.
    Header {
        name: &'static str,
        prefix: &'static str,
        param: &'static str,
    },
}

/// Where a credential comes from.
#[derive(Debug, Clone, Copy)]
pub enum Credential {
    Literal(&'static str),
    Param(&'static str),
}

/// Why a preset could not be instantiated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresetError {
    #[error("unknown preset {0:?}")]
    Unknown(String),
    #[error("preset {preset}: parameter {param:?} is required")]
    MissingParam { preset: String, param: String },
    #[error("preset {preset}: unknown parameter {param:?}")]
    UnknownParam { preset: String, param: String },
    /// A parameter made the code invalid (a template parameter with a syntax error).
    #[error("preset {preset}: {error}")]
    Invalid { preset: String, error: TransformError },
}

/// Every preset.
pub fn all() -> &'static [Preset] {
    PRESETS
}

/// The preset with this id.
pub fn get(id: &str) -> Option<&'static Preset> {
    all().iter().find(|p| p.id == id)
}

/// The transformation code and the endpoint headers (auth) a preset gives with these params.
/// The code is checked: it compiles.
pub fn instantiate(
    id: &str,
    params: &BTreeMap<String, String>,
) -> Result<(Kind, String, BTreeMap<String, String>), PresetError> {
    let preset = get(id).ok_or_else(|| PresetError::Unknown(id.to_owned()))?;
    if let Some(unknown) = params.keys().find(|k| !preset.params.iter().any(|p| p.name == k.as_str())) {
        return Err(PresetError::UnknownParam { preset: id.to_owned(), param: unknown.clone() });
    }
    if let Some(missing) = preset.params.iter().find(|p| p.required && given(params, p.name).is_none()) {
        return Err(PresetError::MissingParam { preset: id.to_owned(), param: missing.name.to_owned() });
    }
    let mut vars = default_vars(preset);
    for param in preset.params.iter().filter(|p| !p.secret) {
        if let Some(value) = given(params, param.name) {
            vars.insert(param.name.to_owned(), Json::String(value.to_owned()));
        }
    }
    let code = with_vars(preset.code, &vars);
    Compiled::new(preset.kind, &code)
        .map_err(|error| PresetError::Invalid { preset: id.to_owned(), error })?;
    Ok((preset.kind, code, auth_headers(preset.auth, params)))
}

/// The `vars` object of a preset's code.
pub(crate) fn default_vars(preset: &Preset) -> serde_json::Map<String, Json> {
    serde_json::from_str::<Json>(preset.code)
        .ok()
        .and_then(|code| code.get("vars").and_then(Json::as_object).cloned())
        .unwrap_or_default()
}

/// The code with its `vars` object replaced, everything else left as written.
fn with_vars(code: &str, vars: &serde_json::Map<String, Json>) -> String {
    let rendered =
        serde_json::to_string_pretty(vars).unwrap_or_else(|_| "{}".to_owned()).replace('\n', "\n  ");
    let Some(key) = code.find("\"vars\":") else { return code.to_owned() };
    let start = key + "\"vars\":".len();
    let mut values = serde_json::Deserializer::from_str(&code[start..]).into_iter::<Json>();
    match values.next() {
        Some(Ok(_)) => format!("{} {rendered}{}", &code[..start], &code[start + values.byte_offset()..]),
        _ => code.to_owned(),
    }
}

/// A param's value, trimmed; an empty one counts as not given.
fn given<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn auth_headers(auth: Auth, params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let credential = |c: Credential| match c {
        Credential::Literal(value) => value.to_owned(),
        Credential::Param(name) => given(params, name).unwrap_or_default().to_owned(),
    };
    match auth {
        Auth::None => BTreeMap::new(),
        Auth::Basic { user, password } => {
            let pair = format!("{}:{}", credential(user), credential(password));
            let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
            BTreeMap::from([("Authorization".to_owned(), value)])
        }
        Auth::Header { name, prefix, param } => {
            BTreeMap::from([(name.to_owned(), format!("{prefix}{}", credential(Credential::Param(param))))])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_vars_replaces_only_the_vars_object() {
        let code = "{\n  \"vars\": {\"a\": \"{{ x }}\"},\n  \"body\": \"{{ vars.a }}\"\n}";
        let vars = serde_json::Map::from_iter([
            ("a".to_owned(), Json::from("1")),
            ("b".to_owned(), Json::from("2")),
        ]);
        assert_eq!(
            with_vars(code, &vars),
            "{\n  \"vars\": {\n    \"a\": \"1\",\n    \"b\": \"2\"\n  },\n  \"body\": \"{{ vars.a }}\"\n}"
        );
        assert_eq!(with_vars("{\"body\": \"x\"}", &vars), "{\"body\": \"x\"}");
    }
}
