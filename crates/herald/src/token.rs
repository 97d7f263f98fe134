//! The admin token: taken from the configuration, or generated on first start and
//! kept in the data directory (mode 0600) so restarts keep it.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use rand::RngCore;

const FILE: &str = "admin-token";

/// Where the token came from.
pub enum Origin {
    Configured,
    Kept,
    Generated,
}

impl Origin {
    pub fn describe(&self, data_dir: &Path) -> String {
        let file = data_dir.join(FILE);
        match self {
            Self::Configured => "from HERALD_ADMIN_TOKEN / configuration".into(),
            Self::Kept => format!("kept in {}", file.display()),
            Self::Generated => format!("generated now and kept in {}", file.display()),
        }
    }
}

pub fn settle(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<(String, Origin)> {
    if let Some(t) = configured {
        return Ok((t.to_owned(), Origin::Configured));
    }
    let path = data_dir.join(FILE);
    if let Ok(kept) = std::fs::read_to_string(&path) {
        let kept = kept.trim().to_owned();
        if !kept.is_empty() {
            return Ok((kept, Origin::Kept));
        }
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("hrld_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    write_private(&path, &token)
        .with_context(|| format!("cannot write the admin token to {}", path.display()))?;
    Ok((token, Origin::Generated))
}

pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}
