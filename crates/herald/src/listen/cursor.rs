//! The last message ids a listener relayed, kept in a file per (server, source or
//! application), so that the next `herald listen` for the same target first relays
//! what arrived while none was running — resuming after the last one, and knowing
//! the ones before it, which the server sends again (its stream re-reads a few
//! seconds before a resume point). Throwaway sources keep none: they are gone when
//! their listener stops.
//!
//! Losing the file only loses that replay (the listener then starts from now, or
//! from `--since`); failing to write it is reported once and otherwise ignored.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::path::PathBuf;

use super::api::Target;

/// Ids kept: the newest relayed, oldest first.
const KEPT: usize = 200;

pub(crate) struct Cursor {
    /// `None`: nowhere to keep it.
    file: Option<PathBuf>,
    recent: RefCell<VecDeque<String>>,
    /// Whether a failed write was reported already.
    warned: Cell<bool>,
}

impl Cursor {
    pub(crate) fn new(dir: Option<PathBuf>, server: &str, target: &Target) -> Self {
        let key = target.source_id.as_deref().filter(|_| !target.throwaway).map_or_else(
            || (!target.throwaway).then(|| format!("app-{}", target.app_id)),
            |source| Some(source.to_owned()),
        );
        let file = dir.or_else(default_dir).zip(key).map(|(dir, key)| {
            let server: String =
                server.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
            dir.join(format!("{server}--{key}"))
        });
        Self { file, recent: RefCell::new(VecDeque::new()), warned: Cell::new(false) }
    }

    /// The ids a previous run relayed last, oldest first (empty if it kept none).
    pub(crate) fn load(&self) -> Vec<String> {
        let Some(text) = self.file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) else {
            return Vec::new();
        };
        let ids: VecDeque<String> =
            text.lines().map(str::trim).filter(|id| id.starts_with("msg_")).map(str::to_owned).collect();
        *self.recent.borrow_mut() = ids.clone();
        ids.into()
    }

    /// Adds `id` as the last relayed and writes the file (whole, then renamed into place).
    pub(crate) fn save(&self, id: &str) {
        let Some(file) = &self.file else { return };
        let text = {
            let mut recent = self.recent.borrow_mut();
            recent.push_back(id.to_owned());
            while recent.len() > KEPT {
                recent.pop_front();
            }
            recent.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
        };
        let written = file.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| {
            let partial = file.with_extension("partial");
            std::fs::write(&partial, text)?;
            std::fs::rename(&partial, file)
        });
        if let Err(e) = written
            && !self.warned.replace(true)
        {
            super::say(&format!("cannot keep the resume point in {}: {e}", file.display()));
        }
    }
}

/// `$XDG_STATE_HOME/herald/listen`, else `~/.local/state/herald/listen`.
fn default_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))?;
    Some(state.join("herald/listen"))
}
