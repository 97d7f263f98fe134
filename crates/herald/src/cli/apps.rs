//! `herald app list|get|create|update|delete`.

use std::process::ExitCode;

use clap::Subcommand;
use herald_core::Timestamp;
use reqwest::Method;
use serde_json::{Map, Value};

use super::output::{ago, cell, fields};
use super::{Ctx, ListArgs, json_arg, show_list};

#[derive(Subcommand, Debug)]
pub enum AppCmd {
    /// List applications, newest first.
    List(ListArgs),
    /// Show one application (id or uid).
    Get { app: String },
    /// Create an application.
    Create(AppFields),
    /// Change an application's name, uid, metadata or rate (only what is given).
    Update {
        app: String,
        #[command(flatten)]
        fields: AppFields,
    },
    /// Delete an application with its endpoints, messages and attempts.
    Delete { app: String },
}

#[derive(clap::Args, Debug)]
pub struct AppFields {
    #[arg(long)]
    name: Option<String>,
    /// Your own unique id for it, usable wherever its id is.
    #[arg(long)]
    uid: Option<String>,
    /// A JSON object of string values.
    #[arg(long)]
    metadata: Option<String>,
    /// Messages per second delivered to each of its endpoints, at most.
    #[arg(long)]
    throttle_rate: Option<u32>,
}

impl AppFields {
    fn body(&self) -> anyhow::Result<Value> {
        let mut body = Map::new();
        if let Some(name) = &self.name {
            body.insert("name".into(), name.clone().into());
        }
        if let Some(uid) = &self.uid {
            body.insert("uid".into(), uid.clone().into());
        }
        if let Some(m) = &self.metadata {
            body.insert("metadata".into(), json_arg("--metadata", m)?);
        }
        if let Some(rate) = self.throttle_rate {
            body.insert("throttleRate".into(), rate.into());
        }
        Ok(Value::Object(body))
    }
}

pub(crate) async fn run(ctx: &Ctx, cmd: AppCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        AppCmd::List(list) => {
            let apps = c.get("/api/v1/app", &list.query()).await?;
            let now = Timestamp::now();
            show_list(ctx, &apps, &["ID", "UID", "NAME", "CREATED"], |a| {
                vec![
                    cell(&a["id"]),
                    cell(&a["uid"]),
                    cell(&a["name"]),
                    ago(a["createdAt"].as_str().unwrap_or(""), now),
                ]
            });
        }
        AppCmd::Get { app } => ctx.show(&c.get(&format!("/api/v1/app/{app}"), &[]).await?, describe),
        AppCmd::Create(f) => {
            if f.name.is_none() {
                return Err(super::Usage("app create needs --name".into()).into());
            }
            ctx.show(&c.call(Method::POST, "/api/v1/app", Some(&f.body()?)).await?, describe);
        }
        AppCmd::Update { app, fields } => {
            let path = format!("/api/v1/app/{app}");
            ctx.show(&c.call(Method::PATCH, &path, Some(&fields.body()?)).await?, describe);
        }
        AppCmd::Delete { app } => {
            c.call(Method::DELETE, &format!("/api/v1/app/{app}"), None).await?;
            eprintln!("deleted application {app}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(a: &Value) -> String {
    let now = Timestamp::now();
    fields(&[
        ("id", cell(&a["id"])),
        ("uid", cell(&a["uid"])),
        ("name", cell(&a["name"])),
        ("metadata", a["metadata"].to_string()),
        ("throttle rate", cell(&a["throttleRate"])),
        ("created", ago(a["createdAt"].as_str().unwrap_or(""), now)),
        ("updated", ago(a["updatedAt"].as_str().unwrap_or(""), now)),
    ])
}
