//! Configuration: built-in defaults, then a TOML file, then `HERALD_*` environment
//! variables and command-line flags (clap reads both). Everything is validated once
//! here into typed values; a bad value is an error that names its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use herald_core::retry::{parse_duration, parse_schedule};
use herald_core::{HealthPolicy, RetryPolicy};
use herald_store::SecretKey;
use ipnet::IpNet;
use serde::Deserialize;

/// The options of `herald serve`, as given (flags and environment).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (keys in snake_case).
    #[arg(long, env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "HERALD_LISTEN")]
    pub listen: Option<String>,
    /// Directory for the embedded database and generated keys.
    #[arg(long, env = "HERALD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite:///path/to/herald.db` (default: herald.db in the data
    /// directory) or `postgres://user:password@host:5432/db` to share one database
    /// between several Herald processes.
    #[arg(long, env = "HERALD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections each process keeps open to PostgreSQL, at most (default 16).
    #[arg(long, env = "HERALD_DATABASE_MAX_CONNECTIONS")]
    pub database_max_connections: Option<u32>,
    /// PostgreSQL schema for Herald's tables (default: the user's search_path, usually `public`).
    #[arg(long, env = "HERALD_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// Serve the API only; deliveries are sent by other processes on the same PostgreSQL.
    #[arg(long, env = "HERALD_NO_WORKERS", conflicts_with = "workers_only")]
    pub no_workers: bool,
    /// Run delivery workers only, without the API (PostgreSQL).
    #[arg(long, env = "HERALD_WORKERS_ONLY")]
    pub workers_only: bool,
    /// The admin API token. Generated and kept in the data directory when unset.
    #[arg(long, env = "HERALD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// The key endpoint secrets are encrypted with: 32 bytes in base64 (`openssl rand
    /// -base64 32`). Generated and kept in the data directory when unset (SQLite);
    /// required with PostgreSQL, the same in every process.
    #[arg(long, env = "HERALD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Delays between retries, e.g. `5s,5m,30m,2h,5h,10h,10h`.
    #[arg(long, env = "HERALD_RETRY_SCHEDULE")]
    pub retry_schedule: Option<String>,
    /// Networks deliveries may reach although not global, e.g. `127.0.0.0/8,::1/128`.
    #[arg(long, env = "HERALD_ALLOW_NETWORKS")]
    pub allow_networks: Option<String>,
    /// Time limit of one delivery attempt, e.g. `15s`.
    #[arg(long, env = "HERALD_REQUEST_TIMEOUT")]
    pub request_timeout: Option<String>,
    /// How long a worker holds a delivery it took before another process may take
    /// it over (default: twice the request timeout plus 30s). Must exceed the request timeout.
    #[arg(long, env = "HERALD_LEASE")]
    pub lease: Option<String>,
    /// HTTP requests on the wire to one endpoint at once, at most (default 64). An
    /// endpoint starts at 8 and gains one per answer; each timeout halves it.
    #[arg(long, env = "HERALD_ENDPOINT_CONCURRENCY")]
    pub endpoint_concurrency: Option<u32>,
    /// Disable an endpoint whose every attempt failed for this long, e.g. `5d`
    /// (default); `0` never disables.
    #[arg(long, env = "HERALD_DISABLE_AFTER")]
    pub disable_after: Option<String>,
    /// URLs that receive operational webhooks (endpoint.disabled,
    /// message.attempt.exhausted, …), comma-separated.
    #[arg(long, env = "HERALD_OPERATIONAL_WEBHOOK_URL")]
    pub operational_webhook_url: Option<String>,
    /// Largest accepted API request body, in bytes.
    #[arg(long, env = "HERALD_MAX_PAYLOAD_BYTES")]
    pub max_payload_bytes: Option<usize>,
    /// How much of an endpoint's response body is kept with an attempt, in bytes.
    #[arg(long, env = "HERALD_MAX_RESPONSE_BYTES")]
    pub max_response_bytes: Option<usize>,
    /// `normal` (default; survives a process crash) or `full` (also survives power loss).
    #[arg(long, env = "HERALD_SQLITE_SYNCHRONOUS")]
    pub sqlite_synchronous: Option<String>,
    /// Log format: `human` (default) or `json`.
    #[arg(long, env = "HERALD_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// The URL users reach this server at, for links (default: http://<listen>).
    #[arg(long, env = "HERALD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How long message payloads and attempt response bodies are kept, e.g. `90d`
    /// (default); a message's own `payloadRetentionPeriod` wins for its payload.
    #[arg(long, env = "HERALD_RETENTION")]
    pub retention: Option<String>,
}

/// How long payloads and response bodies are kept by default: Svix's 90 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// The same settings in a TOML file; unknown keys are an error (typos do not pass silently).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_schema: Option<String>,
    database_max_connections: Option<u32>,
    no_workers: Option<bool>,
    workers_only: Option<bool>,
    admin_token: Option<String>,
    secret_key: Option<String>,
    retry_schedule: Option<String>,
    allow_networks: Option<String>,
    request_timeout: Option<String>,
    lease: Option<String>,
    endpoint_concurrency: Option<u32>,
    disable_after: Option<String>,
    operational_webhook_url: Option<String>,
    max_payload_bytes: Option<usize>,
    max_response_bytes: Option<usize>,
    sqlite_synchronous: Option<String>,
    log_format: Option<String>,
    public_url: Option<String>,
    retention: Option<String>,
}

/// Where the data lives.
#[derive(Clone, PartialEq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres { url: String, schema: Option<String>, max_connections: u32 },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres { url, schema, max_connections } => f
                .debug_struct("Postgres")
                .field("url", &redact_password(url))
                .field("schema", schema)
                .field("max_connections", max_connections)
                .finish(),
        }
    }
}

impl Database {
    /// A description for logs and the start-up banner, without the password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite at {}", path.display()),
            Self::Postgres { url, schema, .. } => {
                let schema = schema.as_deref().map(|s| format!(", schema {s}")).unwrap_or_default();
                format!("PostgreSQL at {}{schema}", redact_password(url))
            }
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Which parts of Herald this process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The API and the delivery workers (the default).
    All,
    /// The API only; other processes deliver.
    ApiOnly,
    /// The delivery workers only.
    WorkersOnly,
}

/// Validated configuration. `Debug` redacts the admin token.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: Database,
    pub role: Role,
    /// `None`: generate one (or reuse the one kept in the data directory).
    pub admin_token: Option<String>,
    /// `None`: generate one (or reuse the one kept in the data directory); refused
    /// with PostgreSQL, whose processes must share one key.
    pub secret_key: Option<SecretKey>,
    pub retry: RetryPolicy,
    pub allow_networks: Vec<IpNet>,
    pub request_timeout: Duration,
    pub lease: Duration,
    /// Requests on the wire to one endpoint, at most.
    pub endpoint_concurrency: u32,
    /// When an endpoint that keeps failing is disabled.
    pub health: HealthPolicy,
    /// Where operational webhooks go (endpoints of the operational application).
    pub operational_webhook_urls: Vec<String>,
    pub max_payload_bytes: usize,
    pub max_response_bytes: usize,
    pub sqlite_synchronous_full: bool,
    pub json_logs: bool,
    pub public_url: Option<String>,
    /// How long payloads and response bodies are kept before the retention task
    /// purges them.
    pub retention: Duration,
    /// How often the retention task sweeps (not a setting: tests shorten it).
    pub retention_sweep: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<redacted>"))
            .field("secret_key", &self.secret_key)
            .field("retention", &self.retention)
            .field("retention_sweep", &self.retention_sweep)
            .field("retry", &self.retry)
            .field("allow_networks", &self.allow_networks)
            .field("request_timeout", &self.request_timeout)
            .field("endpoint_concurrency", &self.endpoint_concurrency)
            .field("health", &self.health)
            .field("operational_webhook_urls", &self.operational_webhook_urls)
            .finish_non_exhaustive()
    }
}

/// A configuration value that cannot be used, named by its key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration `{key}`: {reason}")]
pub struct ConfigError {
    pub key: &'static str,
    pub reason: String,
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { key, reason: reason.into() }
}

impl Config {
    /// A configuration with every default, for a data directory (tests start here).
    pub fn for_data_dir(data_dir: &Path) -> Self {
        Self::load(ServeArgs { data_dir: Some(data_dir.to_owned()), ..Default::default() })
            .unwrap_or_else(|e| unreachable!("defaults are valid: {e}"))
    }

    /// Merges defaults, the TOML file named by `args.config`, and `args`.
    pub fn load(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let pick = |a: Option<String>, f: Option<String>| a.or(f);
        let listen = pick(args.listen, file.listen).unwrap_or_else(|| "127.0.0.1:8071".into());
        let listen = listen
            .parse()
            .map_err(|_| bad("listen", format!("`{listen}` is not an address like 127.0.0.1:8071")))?;
        let data_dir = args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("./herald-data"));
        let schema = pick(args.database_schema, file.database_schema);
        let mut database = parse_database(pick(args.database_url, file.database_url), schema, &data_dir)?;
        if let Database::Postgres { max_connections, .. } = &mut database {
            *max_connections = args.database_max_connections.or(file.database_max_connections).unwrap_or(16);
            if *max_connections < 2 {
                return Err(bad("database_max_connections", "must be at least 2"));
            }
        }
        let role = parse_role(
            args.no_workers || file.no_workers.unwrap_or(false),
            args.workers_only || file.workers_only.unwrap_or(false),
            &database,
        )?;
        let schedule = match pick(args.retry_schedule, file.retry_schedule) {
            Some(s) => parse_schedule(&s).map_err(|e| bad("retry_schedule", e))?,
            None => herald_core::retry::DEFAULT_SCHEDULE.to_vec(),
        };
        let allow = pick(args.allow_networks, file.allow_networks).unwrap_or_default();
        let allow_networks =
            herald_delivery::egress::parse_networks(&allow).map_err(|e| bad("allow_networks", e))?;
        let timeout = pick(args.request_timeout, file.request_timeout).unwrap_or_else(|| "15s".into());
        let request_timeout = parse_duration(&timeout).map_err(|e| bad("request_timeout", e))?;
        if request_timeout.is_zero() || request_timeout > Duration::from_secs(300) {
            return Err(bad("request_timeout", "must be between 1ms and 5m"));
        }
        let lease = match pick(args.lease, file.lease) {
            Some(l) => parse_duration(&l).map_err(|e| bad("lease", e))?,
            None => request_timeout * 2 + Duration::from_secs(30),
        };
        if lease <= request_timeout {
            return Err(bad("lease", "must be longer than request_timeout"));
        }
        let endpoint_concurrency = args.endpoint_concurrency.or(file.endpoint_concurrency).unwrap_or(64);
        if !(1..=10_000).contains(&endpoint_concurrency) {
            return Err(bad("endpoint_concurrency", "must be between 1 and 10000"));
        }
        let health = parse_disable_after(pick(args.disable_after, file.disable_after))?;
        let operational_webhook_urls = parse_urls(
            &pick(args.operational_webhook_url, file.operational_webhook_url).unwrap_or_default(),
        )?;
        let sync = pick(args.sqlite_synchronous, file.sqlite_synchronous).unwrap_or_else(|| "normal".into());
        let sqlite_synchronous_full = match sync.as_str() {
            "normal" => false,
            "full" => true,
            other => {
                return Err(bad("sqlite_synchronous", format!("`{other}` is neither `normal` nor `full`")));
            }
        };
        let log = pick(args.log_format, file.log_format).unwrap_or_else(|| "human".into());
        let json_logs = match log.as_str() {
            "human" => false,
            "json" => true,
            other => return Err(bad("log_format", format!("`{other}` is neither `human` nor `json`"))),
        };
        let admin_token = pick(args.admin_token, file.admin_token);
        if admin_token.as_ref().is_some_and(|t| t.len() < 8) {
            return Err(bad("admin_token", "must be at least 8 characters"));
        }
        let secret_key = pick(args.secret_key, file.secret_key)
            .map(|k| SecretKey::from_base64(&k).map_err(|e| bad("secret_key", e.to_string())))
            .transpose()?;
        let retention = match pick(args.retention, file.retention) {
            Some(r) => parse_duration(&r).map_err(|e| bad("retention", e))?,
            None => DEFAULT_RETENTION,
        };
        if retention < Duration::from_secs(1) {
            return Err(bad("retention", "must be at least 1s"));
        }
        Ok(Self {
            listen,
            data_dir,
            database,
            role,
            admin_token,
            secret_key,
            retry: RetryPolicy { schedule, ..RetryPolicy::default() },
            allow_networks,
            request_timeout,
            lease,
            endpoint_concurrency,
            health,
            operational_webhook_urls,
            max_payload_bytes: args.max_payload_bytes.or(file.max_payload_bytes).unwrap_or(1024 * 1024),
            max_response_bytes: args.max_response_bytes.or(file.max_response_bytes).unwrap_or(8 * 1024),
            sqlite_synchronous_full,
            json_logs,
            public_url: pick(args.public_url, file.public_url),
            retention,
            retention_sweep: Duration::from_secs(60),
        })
    }
}

/// `5d`, `90s`, …; `0` (or `never`) never disables.
fn parse_disable_after(value: Option<String>) -> Result<HealthPolicy, ConfigError> {
    let Some(value) = value else { return Ok(HealthPolicy::default()) };
    if value == "never" {
        return Ok(HealthPolicy { disable_after: None });
    }
    let window = parse_duration(&value).map_err(|e| bad("disable_after", e))?;
    Ok(HealthPolicy { disable_after: Some(window).filter(|w| !w.is_zero()) })
}

/// Comma-separated absolute http(s) URLs.
fn parse_urls(list: &str) -> Result<Vec<String>, ConfigError> {
    let parse = |u: &str| match url::Url::parse(u) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(u.to_owned()),
        _ => Err(bad("operational_webhook_url", format!("`{u}` is not an absolute http(s) URL"))),
    };
    list.split(',').map(str::trim).filter(|u| !u.is_empty()).map(parse).collect()
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| bad("config", format!("{}: {e}", path.display())))
}

fn parse_role(no_workers: bool, workers_only: bool, database: &Database) -> Result<Role, ConfigError> {
    let role = match (no_workers, workers_only) {
        (false, false) => return Ok(Role::All),
        (true, false) => Role::ApiOnly,
        (false, true) => Role::WorkersOnly,
        (true, true) => return Err(bad("no_workers", "cannot be combined with workers_only")),
    };
    if matches!(database, Database::Sqlite(_)) {
        let key = if no_workers { "no_workers" } else { "workers_only" };
        return Err(bad(key, "needs PostgreSQL: the embedded store serves a single process that runs both"));
    }
    Ok(role)
}

fn parse_database(
    url: Option<String>,
    schema: Option<String>,
    data_dir: &Path,
) -> Result<Database, ConfigError> {
    let Some(url) = url else {
        if schema.is_some() {
            return Err(bad("database_schema", "only applies to a postgres:// database_url"));
        }
        return Ok(Database::Sqlite(data_dir.join("herald.db")));
    };
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() {
            return Err(bad(
                "database_url",
                "a sqlite URL needs a file path, e.g. sqlite://./herald-data/herald.db",
            ));
        }
        return Ok(Database::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if let Some(s) = &schema
            && (s.is_empty() || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        {
            return Err(bad("database_schema", format!("`{s}` must be lower-case letters, digits and _")));
        }
        return Ok(Database::Postgres { url, schema, max_connections: 16 });
    }
    Err(bad(
        "database_url",
        format!("`{}` is neither a sqlite:// nor a postgres:// URL", redact_password(&url)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::load(ServeArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8071");
        assert_eq!(c.database, Database::Sqlite(PathBuf::from("./herald-data/herald.db")));
        assert_eq!(c.retry.schedule.len(), 7);
        assert_eq!(c.request_timeout, Duration::from_secs(15));
        assert!(c.allow_networks.is_empty());
    }

    #[test]
    fn flags_and_env_beat_the_file_and_bad_values_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("herald.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nretry_schedule = \"1s,2s\"\n").unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            listen: Some("127.0.0.1:9001".into()),
            ..Default::default()
        };
        let c = Config::load(args).unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.retry.schedule, vec![Duration::from_secs(1), Duration::from_secs(2)]);

        let e = Config::load(ServeArgs { retry_schedule: Some("1s,often".into()), ..Default::default() })
            .unwrap_err();
        assert!(e.to_string().contains("retry_schedule") && e.to_string().contains("often"), "{e}");
        let e = Config::load(ServeArgs { allow_networks: Some("10.0.0.0/33".into()), ..Default::default() })
            .unwrap_err();
        assert!(e.to_string().contains("allow_networks"), "{e}");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let e = Config::load(ServeArgs { config: Some(file), ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
    }

    #[test]
    fn flow_control_and_health_settings_parse_and_name_their_key() {
        let c = Config::load(ServeArgs::default()).unwrap();
        assert_eq!(c.endpoint_concurrency, 64);
        assert_eq!(c.health.disable_after, Some(Duration::from_secs(5 * 86_400)));
        assert!(c.operational_webhook_urls.is_empty());
        let c = Config::load(ServeArgs {
            endpoint_concurrency: Some(4),
            disable_after: Some("90s".into()),
            operational_webhook_url: Some("https://ops.example.com/a, http://127.0.0.1:9/b".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((c.endpoint_concurrency, c.health.disable_after), (4, Some(Duration::from_secs(90))));
        assert_eq!(c.operational_webhook_urls, ["https://ops.example.com/a", "http://127.0.0.1:9/b"]);
        let never = Config::load(ServeArgs { disable_after: Some("0".into()), ..Default::default() });
        assert_eq!(never.unwrap().health.disable_after, None);
        let e = Config::load(ServeArgs { endpoint_concurrency: Some(0), ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "endpoint_concurrency");
        let e =
            Config::load(ServeArgs { disable_after: Some("soon".into()), ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "disable_after");
        let e = Config::load(ServeArgs {
            operational_webhook_url: Some("ops.example.com".into()),
            ..Default::default()
        });
        assert_eq!(e.unwrap_err().key, "operational_webhook_url");
    }

    #[test]
    fn postgres_urls_select_postgres_and_roles_need_it() {
        let pg = |url: &str| ServeArgs { database_url: Some(url.into()), ..Default::default() };
        let c = Config::load(ServeArgs { no_workers: true, ..pg("postgres://u:secret@db/herald") }).unwrap();
        assert_eq!(c.role, Role::ApiOnly);
        assert!(!c.database.describe().contains("secret"), "{}", c.database.describe());
        assert!(!format!("{:?}", c.database).contains("secret"));
        let e = Config::load(ServeArgs { workers_only: true, ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "workers_only");
        let e = Config::load(pg("mysql://db/herald")).unwrap_err();
        assert_eq!(e.key, "database_url");
        let e = Config::load(ServeArgs { database_schema: Some("Bad-Name".into()), ..pg("postgres://db/h") });
        assert_eq!(e.unwrap_err().key, "database_schema");
    }

    #[test]
    fn secret_key_and_retention_parse_and_name_their_key() {
        let c = Config::load(ServeArgs::default()).unwrap();
        assert_eq!((c.secret_key, c.retention), (None, DEFAULT_RETENTION));
        let key = SecretKey::generate();
        let c = Config::load(ServeArgs {
            secret_key: Some(key.to_base64()),
            retention: Some("7d".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(!format!("{c:?}").contains(&key.to_base64()), "Debug hides the key");
        assert_eq!((c.secret_key, c.retention), (Some(key), Duration::from_secs(7 * 86_400)));
        let e = Config::load(ServeArgs { secret_key: Some("c2hvcnQ=".into()), ..Default::default() });
        let e = e.unwrap_err();
        assert!(e.key == "secret_key" && e.reason.contains("32 bytes"), "{e}");
        let e = Config::load(ServeArgs { retention: Some("0s".into()), ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "retention");
        let e =
            Config::load(ServeArgs { retention: Some("forever".into()), ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "retention");
    }

    #[test]
    fn every_key_of_the_example_file_is_a_setting() {
        // Uncommented, each `# key = value` line of herald.example.toml must parse.
        let example = include_str!("../../../herald.example.toml");
        let settings: String = example
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let parsed: Result<FileConfig, _> = toml::from_str(&settings);
        assert!(parsed.is_ok(), "{parsed:?}\n{settings}");
        assert!(settings.contains("secret_key") && settings.contains("retention"), "{settings}");
    }
}
