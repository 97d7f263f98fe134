//! Sessions: signed cookies, and the CSRF token each one carries.
//!
//! A session is a cookie whose value is `base64url(json) "." base64url(HMAC-SHA256)`.
//! The HMAC key is derived from the admin token, so every Herald process sharing a
//! database (and an admin token) accepts the same sessions — no session table, no
//! sticky load balancing — and changing the admin token signs everyone out.
//!
//! Two kinds, two cookies:
//! - the operator's (`herald_session`, `Path=/`), made by signing in with the admin
//!   token; it never contains the token;
//! - a customer's (`herald_portal`, `Path=/portal/{app_id}`: one per application),
//!   made from an app-portal token; it carries that token, which is re-checked
//!   against the store on every request (so an expired token ends the session) and
//!   is the bearer of the API calls the portal makes (so the API's own scoping
//!   applies too).
//!
//! Both are `HttpOnly`, `Secure` when Herald's public URL is https, and
//! `SameSite=Strict` — except the portal cookie over https, which is
//! `SameSite=None; Partitioned` so the portal works inside a cross-site iframe;
//! there, and everywhere, the CSRF token (a random value inside the signed session,
//! required on every POST) is what stops forged requests.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use herald_core::{AppId, Timestamp};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::theme::Theme;

pub(crate) const OPERATOR_COOKIE: &str = "herald_session";
pub(crate) const PORTAL_COOKIE: &str = "herald_portal";

/// What a valid session cookie says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Session {
    /// `None` for the operator; the application for a portal session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The app-portal token (portal sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<Theme>,
    /// Required on every POST made in this session.
    pub csrf: String,
    /// Epoch milliseconds after which the cookie is refused.
    pub exp: i64,
}

/// Makes and checks session cookies.
pub(crate) struct Sessions {
    key: [u8; 32],
    ttl: Duration,
    secure: bool,
}

type HmacSha256 = Hmac<Sha256>;

impl Sessions {
    pub(crate) fn new(admin_token: &str, ttl: Duration, secure: bool) -> Self {
        let mut mac = mac(admin_token.as_bytes());
        mac.update(b"herald-dashboard-session-v1");
        Self { key: mac.finalize().into_bytes().into(), ttl, secure }
    }

    /// A new operator session and its `Set-Cookie` value.
    pub(crate) fn operator(&self) -> String {
        let session = Session { app: None, token: None, theme: None, csrf: random(), exp: self.expiry() };
        self.cookie(OPERATOR_COOKIE, "/", &self.seal(&session), false)
    }

    /// A new portal session for `app` and its `Set-Cookie` value.
    pub(crate) fn portal(&self, app: &AppId, token: &str, theme: Option<Theme>) -> String {
        let session = Session {
            app: Some(app.to_string()),
            token: Some(token.to_owned()),
            theme,
            csrf: random(),
            exp: self.expiry(),
        };
        self.cookie(PORTAL_COOKIE, &format!("/portal/{app}"), &self.seal(&session), true)
    }

    /// A `Set-Cookie` value that deletes the cookie.
    pub(crate) fn clear(&self, name: &str, path: &str) -> String {
        let mut c = self.cookie(name, path, "", name == PORTAL_COOKIE);
        c.push_str("; Max-Age=0");
        c
    }

    /// The session in the named cookie, if its signature holds and it has not expired.
    pub(crate) fn read(&self, headers: &HeaderMap, name: &str) -> Option<Session> {
        cookies(headers, name).find_map(|value| self.open(value))
    }

    fn cookie(&self, name: &str, path: &str, value: &str, embeddable: bool) -> String {
        let same_site = if embeddable && self.secure { "None; Partitioned" } else { "Strict" };
        let secure = if self.secure { "; Secure" } else { "" };
        let max_age =
            if value.is_empty() { String::new() } else { format!("; Max-Age={}", self.ttl.as_secs()) };
        format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}{secure}{max_age}")
    }

    fn expiry(&self) -> i64 {
        Timestamp::now().plus(self.ttl).millis()
    }

    fn seal(&self, session: &Session) -> String {
        let json = serde_json::to_vec(session).unwrap_or_default();
        let body = B64.encode(json);
        let mut m = mac(&self.key);
        m.update(body.as_bytes());
        format!("{body}.{}", B64.encode(m.finalize().into_bytes()))
    }

    fn open(&self, value: &str) -> Option<Session> {
        let (body, sig) = value.split_once('.')?;
        let mut m = mac(&self.key);
        m.update(body.as_bytes());
        m.verify_slice(&B64.decode(sig).ok()?).ok()?;
        let session: Session = serde_json::from_slice(&B64.decode(body).ok()?).ok()?;
        (session.exp > Timestamp::now().millis()).then_some(session)
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// 128 random bits, base64url.
pub(crate) fn random() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// Every value of the cookie `name` in the request's `Cookie` headers.
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// Compares two secrets in constant time.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    bool::from(Sha256::digest(a.as_bytes()).ct_eq(&Sha256::digest(b.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = cookie.split(';').next().unwrap_or_default();
        h.insert(http::header::COOKIE, format!("other=1; {value}").parse().expect("header"));
        h
    }

    #[test]
    fn sealed_sessions_open_and_tampered_ones_do_not() {
        let s = Sessions::new("hrld_token", Duration::from_secs(60), false);
        let set = s.operator();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && !set.contains("Secure"));
        let session = s.read(&request_with(&set), OPERATOR_COOKIE).expect("valid");
        assert!(session.app.is_none() && session.csrf.len() >= 22);

        let other = Sessions::new("another_token", Duration::from_secs(60), false);
        assert!(other.read(&request_with(&set), OPERATOR_COOKIE).is_none(), "other key");
        let tampered = set.replacen("herald_session=e", "herald_session=f", 1);
        assert!(s.read(&request_with(&tampered), OPERATOR_COOKIE).is_none(), "tampered");
    }

    #[test]
    fn expired_sessions_are_refused_and_portal_cookies_embed_over_https() {
        let s = Sessions::new("t", Duration::ZERO, true);
        assert!(s.read(&request_with(&s.operator()), OPERATOR_COOKIE).is_none());
        let portal = s.portal(&AppId::generate(), "appsk_x", None);
        assert!(portal.contains("SameSite=None; Partitioned; Secure"), "{portal}");
        assert!(portal.contains("Path=/portal/app_"));
    }
}
