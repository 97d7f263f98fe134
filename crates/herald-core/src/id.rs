//! Prefixed, time-sortable identifiers (`app_…`, `ep_…`, `msg_…`, `atmpt_…`).
//!
//! Ids are KSUIDs (`KsuidMs`: a clock ticking every 1/256 s, then random bits) behind
//! a type prefix, as Svix spells them. As plain strings they sort by creation time to
//! within about 4 ms, and totally: list pagination relies on the total order (an
//! iterator is simply the last id of the previous page), never on ids made in the
//! same 4 ms coming out in creation order.

use std::fmt;

use svix_ksuid::{KsuidLike, KsuidMs};

/// 2014-05-13T16:53:20Z, second 0 of KSUID time.
const KSUID_EPOCH_MS: i64 = 1_400_000_000_000;
/// How much earlier than a window's start [`MessageId::lower_bound`] (and the other
/// ids' `lower_bound`) reaches: a minute, far more than lies between making an id and
/// stamping the row.
pub const ID_CLOCK_SLACK_MS: i64 = 60_000;

/// Defines a prefixed id newtype. Each type knows its prefix so a foreign id
/// (an endpoint id passed where an application id is expected) is recognisable.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id for an object created now.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, KsuidMs::new(None, None)))
            }

            /// Wraps an id read back from storage or from a request path, when it
            /// carries this type's prefix; `None` otherwise (it may then be a `uid`).
            pub fn parse(s: &str) -> Option<Self> {
                s.starts_with($prefix).then(|| Self(s.to_owned()))
            }

            /// Wraps a string trusted to be an id of this type (storage rows).
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }

            /// An id below every id [`Self::generate`] makes at `t` or later — and
            /// below those made up to [`ID_CLOCK_SLACK_MS`] earlier, since a row's
            /// `created_at` is read a moment after its id is made. `id >= lower_bound(t)`
            /// selects a superset of the rows created since `t` as a primary-key range.
            /// Before the KSUID epoch (2014) it is the bare prefix.
            pub fn lower_bound(t: crate::Timestamp) -> Self {
                Self::first_at(crate::Timestamp(t.millis().saturating_sub(ID_CLOCK_SLACK_MS)))
            }

            /// The smallest id [`Self::generate`] can make at `t`, with no slack: ids
            /// greater than it were made at `t` or later (to the KSUID clock's 4 ms).
            /// Before the KSUID epoch (2014) it is the bare prefix.
            pub fn first_at(t: crate::Timestamp) -> Self {
                if t.millis() < KSUID_EPOCH_MS {
                    return Self($prefix.to_owned());
                }
                Self(format!("{}{}", $prefix, KsuidMs::from_millis(Some(t.millis()), Some(&[0; 15]))))
            }

            /// When the id was made, read from its KSUID clock (to within 4 ms).
            pub fn made_at(&self) -> crate::Timestamp {
                let ksuid = self.0.strip_prefix($prefix).and_then(|k| k.parse::<KsuidMs>().ok());
                crate::Timestamp(ksuid.map_or(0, |k| k.timestamp_millis()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// An application: one per customer (tenant) of the sending product.
    AppId,
    "app_"
);
prefixed_id!(
    /// An endpoint: one URL inside an application.
    EndpointId,
    "ep_"
);
prefixed_id!(
    /// A message: one event sent to one application.
    MessageId,
    "msg_"
);
prefixed_id!(
    /// One HTTP try of one message to one endpoint.
    AttemptId,
    "atmpt_"
);
prefixed_id!(
    /// A background task (recover), reported by the API.
    TaskId,
    "qtask_"
);
prefixed_id!(
    /// An inbound source: a public URL (`/in/{id}`) and how its requests are verified.
    SourceId,
    "src_"
);
prefixed_id!(
    /// One request an inbound source refused (its rejected-requests log).
    RejectionId,
    "srcrej_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let a = MessageId::generate();
        // The KSUID clock ticks every 1/256 s.
        std::thread::sleep(std::time::Duration::from_millis(10));
        let b = MessageId::generate();
        assert!(a.as_str().starts_with("msg_"));
        assert_eq!(a.as_str().len(), "msg_".len() + 27);
        assert!(a < b, "{a} should sort before {b}");
        assert!(AppId::parse(a.as_str()).is_none());
        assert_eq!(MessageId::parse(a.as_str()), Some(a));
    }

    #[test]
    fn lower_bounds_sort_below_ids_made_since() {
        let now = crate::Timestamp::now();
        let id = MessageId::generate();
        assert!(MessageId::lower_bound(now.minus(std::time::Duration::from_millis(10))) <= id);
        assert!(MessageId::lower_bound(now.plus(std::time::Duration::from_secs(120))) > id);
        assert_eq!(MessageId::lower_bound(crate::Timestamp(0)).as_str(), "msg_");
    }

    #[test]
    fn an_id_knows_when_it_was_made_and_first_at_sorts_below_it() {
        let id = AttemptId::generate();
        let made = id.made_at();
        assert!((made.millis() - crate::Timestamp::now().millis()).abs() < 1_000, "made {made:?}");
        assert!(AttemptId::first_at(made.minus(std::time::Duration::from_millis(5))) < id);
        assert!(AttemptId::first_at(made.plus(std::time::Duration::from_millis(5))) > id);
        assert_eq!(AttemptId::from_trusted("atmpt_nonsense".into()).made_at(), crate::Timestamp(0));
    }
}
