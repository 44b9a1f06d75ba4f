//! The SSRF guard: which addresses wirewatch may connect to.
//!
//! Links in feeds are untrusted. Unless `allow_private_networks` is set, a fetch may only
//! reach public unicast addresses. The check runs on the *resolved* address, inside the DNS
//! resolver reqwest uses, so a name that resolves (or re-resolves) to 127.0.0.1 is refused at
//! connect time; IP literals, which never reach the resolver, are checked on the URL (the
//! `url` crate has already normalised decimal, octal and hex forms to plain addresses).
//! Hosts listed in `allow_private_hosts` are exempt, by name: the one feed server on the LAN
//! a user trusts, not whatever its pages link or redirect to.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::FetchError;
use crate::config::HostName;

/// Whether an address is a public unicast address that the open internet could route to us.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, cloud metadata endpoints
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, carrier-grade NAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
        || o[0] >= 240) // 240.0.0.0/4 reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64, may embed private v4
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0))
    // v4-compatible
}

/// What the guard lets through.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    /// Let every address through.
    pub allow_private: bool,
    /// Hosts (as [`HostName`] normalises them) that may be on private addresses.
    pub hosts: Arc<HashSet<String>>,
}

impl Guard {
    /// A guard from the `[fetch]` settings.
    pub fn new(allow_private: bool, hosts: &[HostName]) -> Guard {
        Guard {
            allow_private,
            hosts: Arc::new(hosts.iter().map(|h| h.as_str().to_string()).collect()),
        }
    }

    /// Whether private addresses are allowed for this host (as a URL or reqwest spells it).
    fn allows_private(&self, host: &str) -> bool {
        self.allow_private || self.hosts.contains(&host.to_ascii_lowercase())
    }
}

/// Checks a URL before a request: scheme, and the address when the host is an IP literal.
pub fn check_url(url: &Url, guard: &Guard) -> Result<(), FetchError> {
    let refused = |why: String| Err(FetchError::Refused(why));
    if !matches!(url.scheme(), "http" | "https") {
        return refused(format!("refusing {} URL {url}", url.scheme()));
    }
    let allow = url.host_str().is_some_and(|h| guard.allows_private(h));
    match url.host() {
        None => refused(format!("URL has no host: {url}")),
        Some(Host::Ipv4(ip)) if !allow && !is_public(IpAddr::V4(ip)) => refused(format!(
            "refusing to fetch {url}: {ip} is not a public address (set fetch.allow_private_networks to allow)"
        )),
        Some(Host::Ipv6(ip)) if !allow && !is_public(IpAddr::V6(ip)) => refused(format!(
            "refusing to fetch {url}: {ip} is not a public address (set fetch.allow_private_networks to allow)"
        )),
        _ => Ok(()),
    }
}

/// A resolver that drops non-public addresses unless the guard allows them for the name.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    /// The policy.
    pub guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.guard.allows_private(name.as_str());
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> {
                    format!("cannot resolve {host}: {e}").into()
                })?
                .collect();
            let total = found.len();
            let ok: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow || is_public(a.ip()))
                .collect();
            if ok.is_empty() {
                let msg = if total == 0 {
                    format!("{host} resolves to no address")
                } else {
                    format!("refusing {host}: it resolves only to non-public addresses (set fetch.allow_private_networks to allow)")
                };
                return Err(msg.into());
            }
            let addrs: Addrs = Box::new(ok.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    fn off() -> Guard {
        Guard::new(false, &[])
    }

    #[test]
    fn private_literals_are_refused() {
        for bad in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://10.1.2.3/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
        ] {
            assert!(check_url(&u(bad), &off()).is_err(), "{bad} must be refused");
            assert!(
                check_url(&u(bad), &Guard::new(true, &[])).is_ok(),
                "{bad} allowed when private ok"
            );
        }
    }

    #[test]
    fn public_and_names_pass_the_url_check() {
        for good in [
            "http://93.184.216.34/",
            "https://example.org/x",
            "http://[2606:4700::1]/",
        ] {
            assert!(check_url(&u(good), &off()).is_ok(), "{good}");
        }
        let on = Guard::new(true, &[]);
        assert!(check_url(&u("ftp://example.org/"), &on).is_err());
        assert!(check_url(&u("file:///etc/passwd"), &on).is_err());
    }

    #[test]
    fn listed_hosts_are_exempt_and_only_they() {
        let g = Guard::new(
            false,
            &["127.0.0.1", "[::1]", "LAN.Example"].map(|h| HostName::parse(h).expect("host")),
        );
        for ok in [
            "http://127.0.0.1:8080/feed",
            "http://2130706433/", // the same address, spelled as a number
            "http://[0:0::1]/",
        ] {
            assert!(check_url(&u(ok), &g).is_ok(), "{ok}");
        }
        for bad in [
            "http://127.0.0.2/",
            "http://10.0.0.1/",
            "http://169.254.169.254/",
        ] {
            assert!(check_url(&u(bad), &g).is_err(), "{bad}");
        }
        assert!(g.allows_private("lan.example") && !g.allows_private("other.example"));
        assert!(HostName::parse("localhost:3000").is_err());
    }

    #[tokio::test]
    async fn resolver_drops_loopback() {
        let name = || -> Name { "localhost".parse().expect("name") };
        let r = GuardedResolver { guard: off() };
        assert!(r.resolve(name()).await.is_err());
        let r = GuardedResolver {
            guard: Guard::new(true, &[]),
        };
        assert!(r.resolve(name()).await.is_ok());
        let r = GuardedResolver {
            guard: Guard::new(false, &[HostName::parse("localhost").expect("host")]),
        };
        assert!(r.resolve(name()).await.is_ok());
    }
}
