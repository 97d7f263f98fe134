//! Which server the commands talk to and with which token: `--server`/`--token`
//! flags, else `HERALD_SERVER`/`HERALD_TOKEN`, else the CLI config file
//! (`$XDG_CONFIG_HOME/herald/cli.toml`, or `--cli-config`), else the defaults — a
//! server on `http://127.0.0.1:8071` and the admin token a local `herald serve` wrote
//! to `./herald-data/admin-token`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Where a local `herald serve` listens by default.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8071";
/// Where a local `herald serve` keeps its admin token by default.
const LOCAL_TOKEN: &str = "herald-data/admin-token";

/// The connection flags every server command takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConnArgs {
    /// The Herald server [default: from the CLI config file, else http://127.0.0.1:8071].
    #[arg(long, global = true, env = "HERALD_SERVER")]
    pub server: Option<String>,
    /// An API token (the admin token, or an app-portal token for one application's
    /// commands) [default: from the CLI config file, else ./herald-data/admin-token].
    #[arg(long, global = true, env = "HERALD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The CLI config file (TOML: `server = "…"`, `token = "…"` or `token_file = "…"`)
    /// [default: $XDG_CONFIG_HOME/herald/cli.toml, else ~/.config/herald/cli.toml].
    #[arg(long, global = true, env = "HERALD_CLI_CONFIG")]
    pub cli_config: Option<PathBuf>,
}

/// The server and token, resolved.
#[derive(Clone)]
pub struct Connection {
    pub server: String,
    pub token: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("server", &self.server).field("token", &"<redacted>").finish()
    }
}

/// The CLI config file's contents.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub server: Option<String>,
    pub token: Option<String>,
    /// A file holding the token (read when `token` is not set).
    pub token_file: Option<PathBuf>,
}

impl ConnArgs {
    /// Flags (and their environment variables) first, then the config file, then the
    /// defaults.
    pub fn resolve(&self) -> anyhow::Result<Connection> {
        let file = match &self.cli_config {
            Some(path) => FileConfig::read(path)?.unwrap_or_default(),
            None => match default_file() {
                Some(path) => FileConfig::read(&path)?.unwrap_or_default(),
                None => FileConfig::default(),
            },
        };
        resolve(self, file, Path::new(LOCAL_TOKEN))
    }
}

/// [`ConnArgs::resolve`] with the file already read and the local token's path given.
fn resolve(args: &ConnArgs, file: FileConfig, local_token: &Path) -> anyhow::Result<Connection> {
    let server = args.server.clone().or(file.server).unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let token = match (args.token.clone().or(file.token), file.token_file) {
        (Some(token), _) => token,
        (None, Some(path)) => read_token(&path)?,
        (None, None) if local_token.exists() => read_token(local_token)?,
        (None, None) => anyhow::bail!(
            "no API token: pass --token, set HERALD_TOKEN, or put `token = \"…\"` in the CLI config file \
             (a local `herald serve` writes its admin token to ./herald-data/admin-token)"
        ),
    };
    Ok(Connection { server, token })
}

impl FileConfig {
    /// The file's settings; `None` when it does not exist.
    fn read(path: &Path) -> anyhow::Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        toml::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is not a valid CLI config", path.display()))
    }
}

fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token in {}", path.display()))?;
    Ok(text.trim().to_owned())
}

/// `$XDG_CONFIG_HOME/herald/cli.toml`, else `~/.config/herald/cli.toml`.
fn default_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("herald/cli.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(server: Option<&str>, token: Option<&str>) -> ConnArgs {
        ConnArgs { server: server.map(str::to_owned), token: token.map(str::to_owned), cli_config: None }
    }

    #[test]
    fn flags_beat_the_file_which_beats_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("none");
        let file = || FileConfig {
            server: Some("http://file:1".into()),
            token: Some("file-token".into()),
            token_file: None,
        };
        let c =
            resolve(&args(Some("http://flag:2"), Some("flag-token")), file(), &missing).expect("resolves");
        assert_eq!((c.server.as_str(), c.token.as_str()), ("http://flag:2", "flag-token"));
        let c = resolve(&args(None, None), file(), &missing).expect("resolves");
        assert_eq!((c.server.as_str(), c.token.as_str()), ("http://file:1", "file-token"));
        let local = dir.path().join("admin-token");
        std::fs::write(&local, "local-token\n").expect("write");
        let c = resolve(&args(None, None), FileConfig::default(), &local).expect("resolves");
        assert_eq!((c.server.as_str(), c.token.as_str()), (DEFAULT_SERVER, "local-token"));
        let err = resolve(&args(None, None), FileConfig::default(), &missing).expect_err("no token anywhere");
        assert!(err.to_string().contains("pass --token, set HERALD_TOKEN"), "{err}");
    }

    #[test]
    fn the_file_may_name_a_token_file_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = dir.path().join("token");
        std::fs::write(&token, "from-file").expect("write");
        let config = dir.path().join("cli.toml");
        std::fs::write(&config, format!("server = \"http://h:3\"\ntoken_file = {:?}\n", token))
            .expect("write");
        let file = FileConfig::read(&config).expect("reads").expect("exists");
        let c = resolve(&args(None, None), file, &dir.path().join("none")).expect("resolves");
        assert_eq!((c.server.as_str(), c.token.as_str()), ("http://h:3", "from-file"));
        std::fs::write(&config, "sever = \"typo\"\n").expect("write");
        assert!(FileConfig::read(&config).is_err(), "a misspelt key is an error, not silently ignored");
        assert!(FileConfig::read(&dir.path().join("absent.toml")).expect("no error").is_none());
    }
}
