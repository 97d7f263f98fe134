//! `herald import FILE`: applications and their endpoints from JSON (an array) or
//! JSON Lines (one application a line), as the API's own objects:
//!
//! ```json
//! {"uid": "acme", "name": "Acme", "endpoints": [{"uid": "main", "url": "https://…", "filterTypes": ["order.paid"]}]}
//! ```
//!
//! Everything is matched by `uid`, so an import can run again: what exists is updated
//! where the file differs (only the fields the file gives), what does not is created,
//! the rest is left alone. A secret is used only when an endpoint is created. Each
//! item that fails is reported and counted; the others go on.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use reqwest::Method;
use serde_json::{Map, Value};

use super::client::{CallError, Client};
use super::conn::ConnArgs;
use super::progress::Progress;
use super::{Usage, batch_exit};

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The file (`-` for stdin): a JSON array of applications, or one a line.
    file: PathBuf,
    #[command(flatten)]
    conn: ConnArgs,
}

/// What became of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Default)]
struct Tally {
    created: u64,
    updated: u64,
    unchanged: u64,
}

pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let apps = read_items(&args.file)?;
    let client = Client::new(&args.conn.resolve()?)?;
    let total = apps.iter().map(|a| 1 + a["endpoints"].as_array().map_or(0, Vec::len)).sum::<usize>();
    let mut progress = Progress::new("import", Some(total as u64));
    let mut tally = Tally::default();
    for (i, app) in apps.iter().enumerate() {
        let endpoints = app["endpoints"].as_array().cloned().unwrap_or_default();
        let label = format!("application #{} ({})", i + 1, app["uid"].as_str().unwrap_or("no uid"));
        let app_uid = match import_app(&client, app).await {
            Ok((uid, outcome)) => {
                tally.count(outcome);
                progress.done();
                uid
            }
            Err(why) => {
                progress.failed(&label, &why);
                for _ in &endpoints {
                    progress.failed(&format!("an endpoint of {label}"), "its application was not imported");
                }
                continue;
            }
        };
        for (j, ep) in endpoints.iter().enumerate() {
            match import_endpoint(&client, &app_uid, ep).await {
                Ok(outcome) => {
                    tally.count(outcome);
                    progress.done();
                }
                Err(why) => {
                    let uid = ep["uid"].as_str().unwrap_or("no uid");
                    progress.failed(&format!("endpoint #{} ({uid}) of {app_uid}", j + 1), &why);
                }
            }
        }
    }
    let tally =
        format!("{} created, {} updated, {} unchanged", tally.created, tally.updated, tally.unchanged);
    Ok(batch_exit(progress.finish_with(&tally)))
}

impl Tally {
    fn count(&mut self, o: Outcome) {
        match o {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// The applications in the file: a JSON array, a single object, or JSON Lines.
fn read_items(path: &PathBuf) -> Result<Vec<Value>, Usage> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| Usage(format!("cannot read stdin: {e}")))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| Usage(format!("cannot read {}: {e}", path.display())))?
    };
    parse_items(&text)
}

fn parse_items(text: &str) -> Result<Vec<Value>, Usage> {
    let items = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(one @ Value::Object(_)) => vec![one],
        _ => (text.lines().enumerate())
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l).map_err(|e| Usage(format!("line {}: not JSON: {e}", n + 1)))
            })
            .collect::<Result<_, _>>()?,
    };
    match items.iter().position(|i| !i.is_object()) {
        Some(n) => Err(Usage(format!("item {} is not a JSON object", n + 1))),
        None => Ok(items),
    }
}

/// Creates or updates one application; its uid and what happened, or why it failed.
async fn import_app(c: &Client, app: &Value) -> Result<(String, Outcome), String> {
    let uid = app["uid"].as_str().ok_or("no `uid`: an import matches applications by uid")?;
    let fields = without(app, &["endpoints"]);
    let outcome = upsert(c, &format!("/api/v1/app/{uid}"), "/api/v1/app", &fields).await?;
    Ok((uid.to_owned(), outcome))
}

async fn import_endpoint(c: &Client, app_uid: &str, ep: &Value) -> Result<Outcome, String> {
    let uid = ep["uid"].as_str().ok_or("no `uid`: an import matches endpoints by uid")?;
    let base = format!("/api/v1/app/{app_uid}/endpoint");
    upsert(c, &format!("{base}/{uid}"), &base, ep).await
}

/// Reads `one`; creates it at `all` when it does not exist, else patches the fields
/// that differ (never the secret).
async fn upsert(c: &Client, one: &str, all: &str, wanted: &Value) -> Result<Outcome, String> {
    match c.get(one, &[]).await {
        Err(CallError::NotFound { .. }) => {
            c.call(Method::POST, all, Some(wanted)).await.map_err(|e| e.to_string())?;
            Ok(Outcome::Created)
        }
        Err(e) => Err(e.to_string()),
        Ok(current) => {
            let patch = differences(&current, &without(wanted, &["secret"]));
            if patch.is_empty() {
                return Ok(Outcome::Unchanged);
            }
            c.call(Method::PATCH, one, Some(&Value::Object(patch))).await.map_err(|e| e.to_string())?;
            Ok(Outcome::Updated)
        }
    }
}

fn without(v: &Value, keys: &[&str]) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

/// The fields of `wanted` whose value differs from `current`'s (lists compared as
/// sets, an absent list or object as an empty one).
fn differences(current: &Value, wanted: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let wanted = wanted.as_object().unwrap_or(&empty);
    wanted
        .iter()
        .filter(|(k, v)| !same(&current[k.as_str()], v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn same(current: &Value, wanted: &Value) -> bool {
    let norm = |v: &Value| match v {
        Value::Array(items) => {
            let mut items: Vec<String> = items.iter().map(Value::to_string).collect();
            items.sort();
            items.dedup();
            Value::from(items)
        }
        Value::Object(o) if o.is_empty() => Value::Null,
        Value::String(s) if s.is_empty() => Value::Null,
        other => other.clone(),
    };
    let (a, b) = (norm(current), norm(wanted));
    a == b
        || (a.as_array().is_some_and(Vec::is_empty) && b.is_null())
        || (b.as_array().is_some_and(Vec::is_empty) && a.is_null())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn files_are_arrays_objects_or_lines() {
        assert_eq!(parse_items(r#"[{"uid":"a"},{"uid":"b"}]"#).expect("array").len(), 2);
        assert_eq!(parse_items(r#"{"uid":"a"}"#).expect("object").len(), 1);
        assert_eq!(parse_items("{\"uid\":\"a\"}\n\n{\"uid\":\"b\"}\n").expect("lines").len(), 2);
        assert_eq!(
            parse_items("{\"uid\":\"a\"}\nnope").expect_err("bad line").0.split(':').next(),
            Some("line 2")
        );
        assert!(parse_items("[1]").is_err());
    }

    #[test]
    fn only_fields_that_differ_are_patched() {
        let current = json!({"uid": "main", "url": "https://a/", "filterTypes": ["b", "a"], "description": "",
                             "metadata": {}, "channels": null, "disabled": false});
        let same = json!({"uid": "main", "url": "https://a/", "filterTypes": ["a", "b"], "metadata": {}, "channels": []});
        assert!(differences(&current, &same).is_empty(), "sets, empty and absent compare equal");
        let changed = json!({"uid": "main", "url": "https://b/", "disabled": false, "description": "new"});
        let patch = differences(&current, &changed);
        assert_eq!(Value::Object(patch), json!({"url": "https://b/", "description": "new"}));
    }
}
