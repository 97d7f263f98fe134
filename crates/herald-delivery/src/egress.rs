//! Egress policy: which network destinations Herald may send webhooks to.
//!
//! Endpoint URLs are chosen by tenants, so without a policy any tenant could make Herald
//! call its own admin port, the cloud metadata service at 169.254.169.254 or a database on
//! the private network (server-side request forgery). This module owns the decision and
//! nothing else: it classifies addresses, holds the operator's allow-list
//! (`HERALD_ALLOW_NETWORKS`) and turns a refusal into a message the user can act on. It
//! does no I/O; the HTTP client applies it twice — to IP-literal URLs before sending, and
//! to every address DNS returns, so the connection only ever goes to checked addresses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// Why an address is not globally reachable. The `Display` text completes the sentence
/// "destination X is …", so refusals read naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    Unspecified,
    ThisNetwork,
    Loopback,
    Private,
    SharedNat,
    LinkLocal,
    ProtocolAssignment,
    Documentation,
    Benchmarking,
    Multicast,
    Broadcast,
    Reserved,
    UniqueLocal,
    SiteLocal,
    Teredo,
    Discard,
    LocalNat64,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "the unspecified address",
            Self::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            Self::Loopback => "a loopback address",
            Self::Private => "a private-network address",
            Self::SharedNat => "a carrier-grade NAT address (100.64.0.0/10)",
            Self::LinkLocal => "a link-local address (where cloud metadata services live)",
            Self::ProtocolAssignment => "an IETF protocol-assignment address",
            Self::Documentation => "a documentation-only address",
            Self::Benchmarking => "a benchmarking address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Reserved => "a reserved address (240.0.0.0/4)",
            Self::UniqueLocal => "a unique-local (private) IPv6 address",
            Self::SiteLocal => "a deprecated site-local IPv6 address",
            Self::Teredo => "a Teredo tunnel address",
            Self::Discard => "a discard-only address (100::/64)",
            Self::LocalNat64 => "a local-use NAT64 address",
        })
    }
}

/// A refused destination. Messages name the address and the way out, because the person
/// reading them is usually configuring an endpoint, not reading Herald's source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("URL scheme `{0}` is not supported; Herald delivers only to http:// and https:// URLs")]
    UnsupportedScheme(String),
    #[error("URL has no host; an endpoint URL needs a host name or an IP address")]
    MissingHost,
    #[error(
        "destination {ip} is {class}; Herald refuses non-global addresses unless allowed \
         with HERALD_ALLOW_NETWORKS"
    )]
    Address { ip: IpAddr, class: AddressClass },
    #[error(
        "host {host} resolves only to refused addresses ({ip} is {class}); Herald refuses \
         non-global addresses unless allowed with HERALD_ALLOW_NETWORKS"
    )]
    Resolved { host: String, ip: IpAddr, class: AddressClass },
}

/// Returns true when `ip` is reachable on the public internet, i.e. [`classify`] finds no
/// reason to refuse it.
pub fn is_global(ip: IpAddr) -> bool {
    classify(ip).is_none()
}

/// Names the special-purpose range `ip` belongs to, or `None` for a global address.
/// IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by
/// the embedded address, since that is where the packets end up.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// The operator's exceptions on top of "global addresses only".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    allow: Vec<IpNet>,
}

impl EgressPolicy {
    /// A policy permitting global addresses plus everything inside `allow`. An empty list
    /// (also the `Default`) is the strict policy production should run with.
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// The networks permitted in addition to global addresses.
    pub fn allowed_networks(&self) -> &[IpNet] {
        &self.allow
    }

    /// Whether Herald may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.refusal(ip).is_none()
    }

    /// Like [`permits`](Self::permits), with the reason as an error.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), EgressError> {
        match self.refusal(ip) {
            None => Ok(()),
            Some(class) => Err(EgressError::Address { ip, class }),
        }
    }

    /// Checks what can be checked without DNS: the scheme, and the host when it is an IP
    /// literal. The `url` crate has already normalised IPv4 spellings such as
    /// `2130706433`, `0x7f.1` or `017700000001` into an IPv4 host, so they land here too.
    /// Host names pass; their addresses are checked by [`filter_resolved`](Self::filter_resolved).
    pub fn check_url(&self, url: &Url) -> Result<(), EgressError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(EgressError::UnsupportedScheme(other.to_owned())),
        }
        match url.host() {
            None => Err(EgressError::MissingHost),
            Some(Host::Domain(_)) => Ok(()),
            Some(Host::Ipv4(v4)) => self.check_ip(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => self.check_ip(IpAddr::V6(v6)),
        }
    }

    /// Keeps the resolved addresses Herald may connect to. When DNS answered but every
    /// address is refused, the error names the host and the first refused address, so a
    /// DNS-rebinding attempt reads as a refusal rather than as a connection failure.
    /// An empty answer stays `Ok(vec![])`: that is a DNS problem, not an egress one.
    pub fn filter_resolved(
        &self,
        host: &str,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, EgressError> {
        let mut first_refused = None;
        let mut permitted = Vec::new();
        for addr in addrs {
            match self.refusal(addr.ip()) {
                None => permitted.push(addr),
                Some(class) => {
                    first_refused.get_or_insert((addr.ip(), class));
                }
            }
        }
        match first_refused {
            Some((ip, class)) if permitted.is_empty() => {
                Err(EgressError::Resolved { host: host.to_owned(), ip, class })
            }
            _ => Ok(permitted),
        }
    }

    /// The class that makes `ip` refused, or `None` when it is global or allowed. An
    /// IPv4-mapped IPv6 address is matched against the allow-list as its IPv4 too, since
    /// the kernel connects it to exactly that IPv4 address.
    fn refusal(&self, ip: IpAddr) -> Option<AddressClass> {
        let class = classify(ip)?;
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let allowed =
            self.allow.iter().any(|net| net.contains(&ip) || mapped.is_some_and(|m| net.contains(&m)));
        (!allowed).then_some(class)
    }
}

/// Parses an allow-list such as `10.0.0.0/8, 192.168.1.5, fd00::/8`. A bare address means
/// that single host; host bits after the prefix are cleared (`10.1.2.3/8` is `10.0.0.0/8`).
/// Empty entries are skipped so a trailing comma is harmless. The error names the entry.
pub fn parse_networks(s: &str) -> Result<Vec<IpNet>, String> {
    s.split(',').map(str::trim).filter(|entry| !entry.is_empty()).map(parse_network).collect()
}

fn parse_network(entry: &str) -> Result<IpNet, String> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
        format!(
            "invalid network `{entry}`: expected a CIDR such as 10.0.0.0/8 or an IP address \
             such as 192.168.1.5"
        )
    })
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// Special-purpose IPv4 ranges (IANA registry), most specific first.
const V4_RANGES: &[(Ipv4Net, AddressClass)] = &[
    (v4(0, 0, 0, 0, 32), AddressClass::Unspecified),
    (v4(255, 255, 255, 255, 32), AddressClass::Broadcast),
    (v4(0, 0, 0, 0, 8), AddressClass::ThisNetwork),
    (v4(10, 0, 0, 0, 8), AddressClass::Private),
    (v4(100, 64, 0, 0, 10), AddressClass::SharedNat),
    (v4(127, 0, 0, 0, 8), AddressClass::Loopback),
    (v4(169, 254, 0, 0, 16), AddressClass::LinkLocal),
    (v4(172, 16, 0, 0, 12), AddressClass::Private),
    (v4(192, 0, 0, 0, 24), AddressClass::ProtocolAssignment),
    (v4(192, 0, 2, 0, 24), AddressClass::Documentation),
    (v4(192, 168, 0, 0, 16), AddressClass::Private),
    (v4(198, 18, 0, 0, 15), AddressClass::Benchmarking),
    (v4(198, 51, 100, 0, 24), AddressClass::Documentation),
    (v4(203, 0, 113, 0, 24), AddressClass::Documentation),
    (v4(224, 0, 0, 0, 4), AddressClass::Multicast),
    (v4(240, 0, 0, 0, 4), AddressClass::Reserved),
];

const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// Special-purpose IPv6 ranges that are refused whatever they embed, most specific first.
/// 2001::/23 covers Teredo, benchmarking (2001:2::/48) and ORCHID; none is a webhook target.
const V6_RANGES: &[(Ipv6Net, AddressClass)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), AddressClass::Unspecified),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), AddressClass::Loopback),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), AddressClass::LocalNat64),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), AddressClass::Discard),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), AddressClass::Teredo),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), AddressClass::ProtocolAssignment),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), AddressClass::Documentation),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), AddressClass::Documentation),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), AddressClass::UniqueLocal),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), AddressClass::LinkLocal),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), AddressClass::SiteLocal),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), AddressClass::Multicast),
];

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    V4_RANGES.iter().find(|(net, _)| net.contains(&ip)).map(|&(_, class)| class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if let Some(&(_, class)) = V6_RANGES.iter().find(|(net, _)| net.contains(&ip)) {
        return Some(class);
    }
    embedded_v4(ip).and_then(classify_v4)
}

/// The IPv4 address an IPv6 address stands for, when it is one of the forms that carry
/// one: IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`
/// and 6to4 `2002:aabb:ccdd::/48`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let join = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match ip.segments() {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => Some(join(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(join(hi, lo)),
        [0x2002, hi, lo, ..] => Some(join(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address parses")
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL parses")
    }

    #[test]
    fn every_special_ipv4_range_is_not_global() {
        let cases = [
            ("127.0.0.1", AddressClass::Loopback),
            ("127.255.255.254", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("100.64.0.1", AddressClass::SharedNat),
            ("100.127.255.255", AddressClass::SharedNat),
            ("0.0.0.0", AddressClass::Unspecified),
            ("0.1.2.3", AddressClass::ThisNetwork),
            ("255.255.255.255", AddressClass::Broadcast),
            ("224.0.0.1", AddressClass::Multicast),
            ("239.255.255.250", AddressClass::Multicast),
            ("192.0.2.1", AddressClass::Documentation),
            ("198.51.100.7", AddressClass::Documentation),
            ("203.0.113.9", AddressClass::Documentation),
            ("198.18.0.1", AddressClass::Benchmarking),
            ("198.19.255.255", AddressClass::Benchmarking),
            ("240.0.0.1", AddressClass::Reserved),
            ("254.1.1.1", AddressClass::Reserved),
            ("192.0.0.8", AddressClass::ProtocolAssignment),
        ];
        for (addr, class) in cases {
            assert_eq!(classify(ip(addr)), Some(class), "{addr}");
            assert!(!is_global(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn ordinary_ipv4_addresses_and_range_neighbours_are_global() {
        for addr in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "198.17.255.255",
            "198.20.0.0",
            "192.0.1.1",
            "223.255.255.255",
            "11.0.0.1",
        ] {
            assert!(is_global(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn every_special_ipv6_range_is_not_global() {
        let cases = [
            ("::1", AddressClass::Loopback),
            ("::", AddressClass::Unspecified),
            ("fc00::1", AddressClass::UniqueLocal),
            ("fd12:3456::1", AddressClass::UniqueLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("febf::1", AddressClass::LinkLocal),
            ("fec0::1", AddressClass::SiteLocal),
            ("ff02::1", AddressClass::Multicast),
            ("ff0e::1", AddressClass::Multicast),
            ("2001:db8::1", AddressClass::Documentation),
            ("3fff::1", AddressClass::Documentation),
            ("2001::1", AddressClass::Teredo),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", AddressClass::Teredo),
            ("2001:2::1", AddressClass::ProtocolAssignment),
            ("100::1", AddressClass::Discard),
            ("64:ff9b:1::1", AddressClass::LocalNat64),
        ];
        for (addr, class) in cases {
            assert_eq!(classify(ip(addr)), Some(class), "{addr}");
        }
    }

    #[test]
    fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4() {
        let cases = [
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::ffff:7f00:1", AddressClass::Loopback),
            ("::ffff:10.0.0.1", AddressClass::Private),
            ("::ffff:169.254.169.254", AddressClass::LinkLocal),
            ("::127.0.0.1", AddressClass::Loopback),
            ("::192.168.0.1", AddressClass::Private),
            ("64:ff9b::127.0.0.1", AddressClass::Loopback),
            ("64:ff9b::a9fe:a9fe", AddressClass::LinkLocal),
            ("2002:7f00:1::1", AddressClass::Loopback),
            ("2002:a00:1::", AddressClass::Private),
            ("2002:c0a8:101::1", AddressClass::Private),
        ];
        for (addr, class) in cases {
            assert_eq!(classify(ip(addr)), Some(class), "{addr}");
        }
        for addr in ["::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1"] {
            assert!(is_global(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn ordinary_ipv6_addresses_are_global() {
        for addr in ["2606:4700:4700::1111", "2a00:1450:4001:81b::200e", "2001:4860::8888"] {
            assert!(is_global(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn allow_list_permits_listed_networks_and_their_mapped_form() {
        let policy = EgressPolicy::new(parse_networks("127.0.0.0/8").expect("valid list"));
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(policy.permits(ip("::ffff:127.0.0.1")));
        assert!(!policy.permits(ip("::1")));
        assert!(!policy.permits(ip("10.0.0.1")));
        assert!(policy.permits(ip("8.8.8.8")));
    }

    #[test]
    fn strict_policy_explains_the_refusal() {
        let err = EgressPolicy::default().check_ip(ip("127.0.0.1")).expect_err("loopback is refused");
        assert_eq!(
            err.to_string(),
            "destination 127.0.0.1 is a loopback address; Herald refuses non-global \
             addresses unless allowed with HERALD_ALLOW_NETWORKS"
        );
    }

    #[test]
    fn url_crate_normalises_numeric_ipv4_spellings() {
        for spelling in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0x7f.0.0.1/",
            "http://017700000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
        ] {
            assert_eq!(url(spelling).host(), Some(Host::Ipv4(Ipv4Addr::LOCALHOST)), "{spelling}");
        }
    }

    #[test]
    fn check_url_refuses_every_spelling_of_loopback() {
        let policy = EgressPolicy::default();
        for spelling in [
            "http://127.0.0.1:8080/",
            "https://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://017700000001/",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            let err = policy.check_url(&url(spelling)).expect_err(spelling);
            assert!(matches!(err, EgressError::Address { .. }), "{spelling}");
        }
    }

    #[test]
    fn check_url_passes_names_and_global_literals_and_refuses_other_schemes() {
        let policy = EgressPolicy::default();
        assert_eq!(policy.check_url(&url("https://example.com/hook")), Ok(()));
        assert_eq!(policy.check_url(&url("http://8.8.8.8/")), Ok(()));
        assert_eq!(
            policy.check_url(&url("ftp://example.com/")),
            Err(EgressError::UnsupportedScheme("ftp".into()))
        );
        assert!(policy.check_url(&url("file:///etc/passwd")).is_err());
    }

    #[test]
    fn filter_resolved_drops_refused_addresses() {
        let policy = EgressPolicy::default();
        let addrs: Vec<SocketAddr> = ["127.0.0.1:0", "93.184.215.14:0", "[::1]:0"]
            .iter()
            .map(|a| a.parse().expect("test socket address"))
            .collect();
        let kept =
            policy.filter_resolved("mixed.example", addrs.clone()).expect("one global address remains");
        assert_eq!(kept, vec![addrs[1]]);

        let err = policy
            .filter_resolved("rebind.example", [addrs[0], addrs[2]])
            .expect_err("nothing global remains");
        assert_eq!(
            err,
            EgressError::Resolved {
                host: "rebind.example".into(),
                ip: ip("127.0.0.1"),
                class: AddressClass::Loopback,
            }
        );
        assert_eq!(policy.filter_resolved("empty.example", []), Ok(vec![]));
    }

    #[test]
    fn parse_networks_accepts_cidrs_and_bare_addresses() {
        let nets =
            parse_networks(" 10.0.0.0/8, 192.168.1.5 ,fd00::/8, ::1, 10.1.2.3/16,").expect("valid list");
        let expected: Vec<IpNet> = ["10.0.0.0/8", "192.168.1.5/32", "fd00::/8", "::1/128", "10.1.0.0/16"]
            .iter()
            .map(|n| n.parse().expect("test network"))
            .collect();
        assert_eq!(nets, expected);
        assert_eq!(parse_networks(""), Ok(vec![]));
    }

    #[test]
    fn parse_networks_names_the_bad_entry() {
        let err = parse_networks("10.0.0.0/8, 10.0.0.0/33").expect_err("bad prefix");
        assert!(err.contains("`10.0.0.0/33`"), "{err}");
        let err = parse_networks("localhost").expect_err("not an address");
        assert!(err.contains("`localhost`"), "{err}");
    }
}
