//! Ready-made destinations: each a documented template with parameters, giving the
//! transformation code and the endpoint headers (auth) for a receiving service.

use std::collections::BTreeMap;

use crate::Kind;

/// A ready-made destination.
#[derive(Debug)]
pub struct Preset {
    /// Stable identifier, e.g. `slack`.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    /// The transformation code before parameters are filled in.
    pub code: &'static str,
    pub params: &'static [Param],
    /// What the endpoint URL should be (e.g. "the Slack incoming-webhook URL").
    pub url_hint: &'static str,
}

/// A value the user gives when choosing a preset (an account SID, a phone number, …).
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// Secrets go into endpoint headers, never into the code.
    pub secret: bool,
    pub default: Option<&'static str>,
}

/// Why a preset could not be instantiated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    #[error("unknown preset {0:?}")]
    Unknown(String),
    #[error("preset {preset}: parameter {param:?} is required")]
    MissingParam { preset: String, param: String },
    #[error("preset {preset}: unknown parameter {param:?}")]
    UnknownParam { preset: String, param: String },
}

/// Every preset.
pub fn all() -> &'static [Preset] {
    &[]
}

/// The preset with this id.
pub fn get(id: &str) -> Option<&'static Preset> {
    all().iter().find(|p| p.id == id)
}

/// The transformation code and the endpoint headers (auth) a preset gives with these params.
pub fn instantiate(
    id: &str,
    _params: &BTreeMap<String, String>,
) -> Result<(Kind, String, BTreeMap<String, String>), PresetError> {
    Err(PresetError::Unknown(id.to_owned()))
}
