//! Portal themes: from the application's metadata (`portal.primary`, `portal.name`,
//! `portal.logo`, set through the API like any metadata), overridden field by field
//! by the portal link's query parameters (`?primary=%23hex&name=…&logo=https://…`).
//!
//! Every value is validated before it is kept (in the portal session) or rendered:
//! the colour must be `#rgb` or `#rrggbb`, the name is plain text of at most 60
//! characters (escaped like all text), the logo an absolute http(s) URL without
//! credentials. Anything else is dropped, silently: a bad theme must not stop a
//! customer from reaching their portal.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Theme {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
}

impl Theme {
    /// The valid parts of a query string's `primary`, `name` and `logo`; `None` if none is.
    pub(crate) fn from_query(query: &str) -> Option<Self> {
        Self::from_pairs(
            url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )
    }

    /// The valid parts of an application's `portal.primary`, `portal.name` and
    /// `portal.logo` metadata; `None` if none is.
    pub(crate) fn from_metadata(metadata: &herald_core::Metadata) -> Option<Self> {
        Self::from_pairs(
            metadata.iter().filter_map(|(k, v)| Some((k.strip_prefix("portal.")?.to_owned(), v.clone()))),
        )
    }

    /// This theme with `over`'s fields where `over` has them.
    pub(crate) fn overridden_by(self, over: Option<Self>) -> Self {
        let over = over.unwrap_or_default();
        Self {
            primary: over.primary.or(self.primary),
            name: over.name.or(self.name),
            logo: over.logo.or(self.logo),
        }
    }

    fn from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Option<Self> {
        let mut theme = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "primary" => theme.primary = colour(&v),
                "name" => theme.name = name(&v),
                "logo" => theme.logo = logo(&v),
                _ => {}
            }
        }
        (theme != Self::default()).then_some(theme)
    }

    /// The origin of the logo, for the page's Content-Security-Policy `img-src`.
    pub(crate) fn logo_origin(&self) -> Option<String> {
        let url = url::Url::parse(self.logo.as_deref()?).ok()?;
        Some(url.origin().ascii_serialization())
    }
}

fn colour(v: &str) -> Option<String> {
    let hex = v.strip_prefix('#')?;
    ((hex.len() == 3 || hex.len() == 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("#{}", hex.to_ascii_lowercase()))
}

fn name(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty() && v.chars().count() <= 60 && !v.chars().any(char::is_control)).then(|| v.to_owned())
}

fn logo(v: &str) -> Option<String> {
    let url = url::Url::parse(v).ok()?;
    let ok = matches!(url.scheme(), "https" | "http")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && v.len() <= 500;
    ok.then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_valid_values_are_kept() {
        let t = Theme::from_query("primary=%23FF6600&name=Acme%20Shop&logo=https://cdn.acme.test/l.svg&x=1")
            .expect("theme");
        assert_eq!(t.primary.as_deref(), Some("#ff6600"));
        assert_eq!(t.name.as_deref(), Some("Acme Shop"));
        assert_eq!(t.logo_origin().as_deref(), Some("https://cdn.acme.test"));
        let bad = "primary=red;background:url(x)&logo=javascript:alert(1)&name=";
        assert_eq!(Theme::from_query(bad), None);
        assert_eq!(Theme::from_query("primary=%23abc").and_then(|t| t.primary).as_deref(), Some("#abc"));
        assert_eq!(Theme::from_query("logo=https://u:p@x.test/l.png"), None);
    }

    #[test]
    fn the_link_overrides_the_application_field_by_field() {
        let metadata = [
            ("portal.primary", "#112233"),
            ("portal.name", "Acme"),
            ("portal.logo", "ftp://x"),
            ("name", "n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let app = Theme::from_metadata(&metadata).expect("theme");
        assert_eq!(
            (app.primary.as_deref(), app.name.as_deref(), app.logo.as_deref()),
            (Some("#112233"), Some("Acme"), None)
        );
        let t = app.overridden_by(Theme::from_query("name=Acme%20EU"));
        assert_eq!((t.primary.as_deref(), t.name.as_deref()), (Some("#112233"), Some("Acme EU")));
        assert_eq!(Theme::from_metadata(&herald_core::Metadata::new()), None);
    }
}
