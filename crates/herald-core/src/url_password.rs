//! Passwords in endpoint URLs (`smtp://user:pw@mail.example.com`,
//! `https://user:pw@api.example.com/hook`): a credential, so never shown. Every answer
//! and page shows the URL with the password replaced by [`REDACTED`]
//! ([`redact_password`]); an update that sends that shown form back unchanged — an SDK's
//! read-modify-write, the dashboard's edit form — keeps the stored password
//! ([`keep_hidden_password`]).
//!
//! Plain text handling, no URL parser: the user information is what lies between
//! `://` and the last `@` of the authority (which ends at the first `/`, `?` or `#`).

use std::borrow::Cow;

use crate::REDACTED;

/// `url` with its password, if it has a non-empty one, replaced by [`REDACTED`].
pub fn redact_password(url: &str) -> Cow<'_, str> {
    match password_span(url) {
        Some((start, end)) => Cow::Owned(format!("{}{REDACTED}{}", &url[..start], &url[end..])),
        None => Cow::Borrowed(url),
    }
}

/// What to store when an update gives `given` for an endpoint whose URL is `stored`:
/// `stored` when `given` is exactly its shown form (the password came back hidden),
/// else `given`.
pub fn keep_hidden_password(given: String, stored: &str) -> String {
    if password_span(stored).is_some() && given == redact_password(stored) {
        stored.to_owned()
    } else {
        given
    }
}

/// Whether `url` carries the hidden-password marker (which is never a real password
/// Herald would keep: an update that sends it for another URL lost the password).
pub fn has_hidden_password(url: &str) -> bool {
    password_span(url).is_some_and(|(start, end)| &url[start..end] == REDACTED)
}

/// Byte range of the password in `url`, when there is a non-empty one.
fn password_span(url: &str) -> Option<(usize, usize)> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let userinfo_len = rest[..authority_len].rfind('@')?;
    let colon = rest[..userinfo_len].find(':')?;
    let (start, end) = (authority_start + colon + 1, authority_start + userinfo_len);
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_password_is_hidden() {
        let cases = [
            (
                "smtp://bot:s3cr%40t@mail.example.com:587?from=a@b.c",
                "smtp://bot:••••@mail.example.com:587?from=a@b.c",
            ),
            ("https://u:p@api.example.com/hook?x=@", "https://u:••••@api.example.com/hook?x=@"),
            ("smtps://only-user@mail.example.com", "smtps://only-user@mail.example.com"),
            ("https://u:@api.example.com/", "https://u:@api.example.com/"),
            ("https://api.example.com/a:b@c", "https://api.example.com/a:b@c"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_password(url), shown, "{url}");
        }
    }

    #[test]
    fn the_shown_form_sent_back_keeps_the_stored_password() {
        let stored = "smtp://bot:pw@mail.example.com?to=ops@example.com";
        let shown = redact_password(stored).into_owned();
        assert!(has_hidden_password(&shown) && !has_hidden_password(stored));
        assert_eq!(keep_hidden_password(shown, stored), stored);
        let changed = "smtp://bot:new@mail.example.com?to=ops@example.com".to_owned();
        assert_eq!(keep_hidden_password(changed.clone(), stored), changed, "a new password is taken");
        let moved = "smtp://bot:••••@other.example.com".to_owned();
        assert_eq!(keep_hidden_password(moved.clone(), stored), moved, "not the shown form: as given");
        let plain = "https://example.com/hook".to_owned();
        assert_eq!(keep_hidden_password(plain.clone(), "https://example.com/hook"), plain);
    }
}
