//! The SSRF guard: which addresses wirewatch may connect to.
//!
//! Links in feeds are untrusted. Unless `allow_private_networks` is set, a fetch may only
//! reach public unicast addresses. The check runs on the *resolved* address, inside the DNS
//! resolver reqwest uses, so a name that resolves (or re-resolves) to 127.0.0.1 is refused at
//! connect time; IP literals, which never reach the resolver, are checked on the URL (the
//! `url` crate has already normalised decimal, octal and hex forms to plain addresses).
//! Hosts listed in `allow_private_hosts` are exempt, by name (and by port, when the entry
//! names one): the one feed server on the LAN a user trusts, not whatever its pages link or
//! redirect to. The resolver sees names only, so the port is checked on the URL, before every
//! request and redirect hop.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::FetchError;
use crate::config::PrivateHost;

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
    /// Hosts (as [`crate::config::HostName`] normalises them) that may be on private
    /// addresses, each with the ports it may be reached on (`None`: any).
    pub hosts: Arc<HashMap<String, Option<Vec<u16>>>>,
}

impl Guard {
    /// A guard from the `[fetch]` settings. A host listed both with and without a port is
    /// exempt on every port.
    pub fn new(allow_private: bool, hosts: &[PrivateHost]) -> Guard {
        let mut map: HashMap<String, Option<Vec<u16>>> = HashMap::new();
        for h in hosts {
            let entry = map
                .entry(h.host.as_str().to_string())
                .or_insert_with(|| Some(Vec::new()));
            match (entry.as_mut(), h.port) {
                (Some(ports), Some(p)) => ports.push(p),
                _ => *entry = None,
            }
        }
        Guard {
            allow_private,
            hosts: Arc::new(map),
        }
    }

    /// Whether private addresses are allowed for this host (as a URL or reqwest spells it),
    /// on some port: what the resolver, which sees no port, can know.
    fn allows_private(&self, host: &str) -> bool {
        self.allow_private || self.hosts.contains_key(&host.to_ascii_lowercase())
    }

    /// The ports a listed host is limited to, when it is listed with ports and `port` is not
    /// one of them.
    fn wrong_port(&self, host: &str, port: Option<u16>) -> Option<&[u16]> {
        if self.allow_private {
            return None;
        }
        match self.hosts.get(&host.to_ascii_lowercase()) {
            Some(Some(ports)) if !port.is_some_and(|p| ports.contains(&p)) => Some(ports),
            _ => None,
        }
    }
}

/// Checks a URL before a request: scheme, and the address when the host is an IP literal.
pub fn check_url(url: &Url, guard: &Guard) -> Result<(), FetchError> {
    let refused = |why: String| Err(FetchError::Refused(why));
    if !matches!(url.scheme(), "http" | "https") {
        return refused(format!("refusing {} URL {url}", url.scheme()));
    }
    let allow = url.host_str().is_some_and(|h| guard.allows_private(h));
    if let Some(ports) = url
        .host_str()
        .and_then(|h| guard.wrong_port(h, url.port_or_known_default()))
    {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        return refused(format!(
            "refusing to fetch {url}: fetch.allow_private_hosts trusts {} on port {} only",
            url.host_str().unwrap_or_default(),
            ports.join(", ")
        ));
    }
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

/// A name lookup: the system's ([`system_lookup`]), or one a test controls (to prove that a
/// name re-resolving to a private address between two lookups is refused: the check is made
/// on the very addresses the connection then uses, so there is no window between them).
pub type Lookup = Arc<
    dyn Fn(
            String,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>,
        > + Send
        + Sync,
>;

/// The system resolver, as [`Lookup`].
pub fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    })
}

/// A resolver that drops non-public addresses unless the guard allows them for the name.
#[derive(Clone)]
pub struct GuardedResolver {
    /// The policy.
    pub guard: Guard,
    /// How names are looked up.
    pub lookup: Lookup,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.guard.allows_private(name.as_str());
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = lookup(host.clone()).await.map_err(
                |e| -> Box<dyn std::error::Error + Send + Sync> {
                    format!("cannot resolve {host}: {e}").into()
                },
            )?;
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
            &["127.0.0.1", "[::1]", "LAN.Example"].map(|h| PrivateHost::parse(h).expect("host")),
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
    }

    /// A host listed with a port is exempt on that port only: a page of the trusted feed
    /// server that redirects to another service on the same machine is refused.
    #[test]
    fn a_host_listed_with_a_port_is_exempt_on_that_port_only() {
        let hosts = [
            "127.0.0.1:8080",
            "[::1]:8080",
            "lan.example:80",
            "LAN.example:8443",
        ]
        .map(|h| PrivateHost::parse(h).expect("host"));
        let g = Guard::new(false, &hosts);
        for ok in [
            "http://127.0.0.1:8080/feed",
            "http://[::1]:8080/",
            "http://lan.example/feed",
            "https://lan.example:8443/",
        ] {
            assert!(check_url(&u(ok), &g).is_ok(), "{ok}");
        }
        for bad in [
            "http://127.0.0.1/",
            "http://127.0.0.1:6379/",
            "http://[::1]:22/",
            "https://lan.example/",
        ] {
            let err = check_url(&u(bad), &g).expect_err(bad).to_string();
            assert!(err.contains("on port"), "{bad}: {err}");
        }
        // Listed once without a port: every port.
        let any = [
            PrivateHost::parse("127.0.0.1:8080"),
            PrivateHost::parse("127.0.0.1"),
        ]
        .map(|h| h.expect("host"));
        assert!(check_url(&u("http://127.0.0.1:6379/"), &Guard::new(false, &any)).is_ok());
        // allow_private_networks trusts everything anyway.
        assert!(check_url(&u("http://127.0.0.1:6379/"), &Guard::new(true, &hosts)).is_ok());
        for bad in [
            "localhost:0",
            "localhost:x",
            "localhost:70000",
            "::1",
            "[::1]x",
            "http://h",
        ] {
            assert!(PrivateHost::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PrivateHost::parse("LocalHost:3000")
                .expect("host")
                .to_string(),
            "localhost:3000"
        );
    }

    #[tokio::test]
    async fn resolver_drops_loopback() {
        let name = || -> Name { "localhost".parse().expect("name") };
        let r = GuardedResolver {
            guard: off(),
            lookup: system_lookup(),
        };
        assert!(r.resolve(name()).await.is_err());
        let r = GuardedResolver {
            guard: Guard::new(true, &[]),
            lookup: system_lookup(),
        };
        assert!(r.resolve(name()).await.is_ok());
        let r = GuardedResolver {
            guard: Guard::new(false, &[PrivateHost::parse("localhost").expect("host")]),
            lookup: system_lookup(),
        };
        assert!(r.resolve(name()).await.is_ok());
    }

    #[tokio::test]
    async fn a_name_that_rebinds_to_a_private_address_is_refused() {
        // Public at the first lookup, loopback at every later one (a rebinding attacker's DNS).
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = calls.clone();
        let lookup: Lookup = Arc::new(move |_host: String| {
            let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move {
                let ip: IpAddr = if n == 0 {
                    Ipv4Addr::new(93, 184, 215, 14).into()
                } else {
                    Ipv4Addr::LOCALHOST.into()
                };
                Ok(vec![SocketAddr::new(ip, 0)])
            })
        });
        let r = GuardedResolver {
            guard: off(),
            lookup,
        };
        let name = || -> Name { "rebind.example".parse().expect("name") };
        let first: Vec<SocketAddr> = r.resolve(name()).await.expect("public").collect();
        assert!(first.iter().all(|a| is_public(a.ip())));
        let err = r.resolve(name()).await.err().expect("refused");
        assert!(err.to_string().contains("refusing rebind.example"), "{err}");
        // A mixed answer keeps the public addresses only.
        let mixed: Lookup = Arc::new(|_host: String| {
            Box::pin(async {
                Ok(vec![
                    SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
                    SocketAddr::new(Ipv4Addr::new(93, 184, 215, 14).into(), 0),
                ])
            })
        });
        let r = GuardedResolver {
            guard: off(),
            lookup: mixed,
        };
        let kept: Vec<SocketAddr> = r.resolve(name()).await.expect("public part").collect();
        assert_eq!(kept.len(), 1);
        assert!(is_public(kept[0].ip()));
    }
}
