//! Value types of the config file that are written the human way: durations ("15m"), byte
//! sizes ("10MiB") and host names ("rss-bridge.lan"), each parsed and normalised when the file
//! is read, so that a bad one is an error naming its key and line.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use url::Host;

/// A duration written the human way in the config ("15m", "1h 30m", "0s").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(s.trim()).map(Dur).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {s:?}: {e} (write e.g. \"90s\", \"15m\", \"2h\")"
            ))
        })
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl fmt::Display for Dur {
    /// Whole days as days ("180d": humantime would say "5months 27days 19h 12m", its months
    /// being 30.44 days), anything else as humantime writes it ("15m", "1h 30m").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs >= 86_400 && secs.is_multiple_of(86_400) && self.0.subsec_nanos() == 0 {
            write!(f, "{}d", secs / 86_400)
        } else {
            write!(f, "{}", humantime::format_duration(self.0))
        }
    }
}

/// A byte size written the human way ("10MiB", "512KiB", "1000000").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => parse_bytes(&s).map(ByteSize).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid size {s:?} (write e.g. \"10MiB\", \"512KiB\", \"2MB\")"
                ))
            }),
        }
    }
}

/// As it would be written in the config: "10MiB", "512KiB", else in bytes.
impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n > 0 && n.is_multiple_of(1 << 20) {
            write!(f, "{}MiB", n >> 20)
        } else if n > 0 && n.is_multiple_of(1 << 10) {
            write!(f, "{}KiB", n >> 10)
        } else {
            write!(f, "{n} bytes")
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "kib" => 1 << 10,
        "mb" | "m" => 1_000_000,
        "mib" => 1 << 20,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A host name or address as URLs carry it: lower-case name, dotted IPv4, bracketed IPv6; no
/// port, no path. The one home of this rule: the config reads hosts with it
/// (`fetch.allow_private_hosts`) and the fetch stage's address guard compares URL hosts with
/// what it produced.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct HostName(String);

impl HostName {
    /// Parses and normalises a host.
    pub fn parse(h: &str) -> Result<HostName, url::ParseError> {
        match Host::parse(h.trim())? {
            Host::Domain(d) if !d.is_empty() => Ok(HostName(d.to_ascii_lowercase())),
            Host::Domain(_) => Err(url::ParseError::EmptyHost),
            Host::Ipv4(ip) => Ok(HostName(ip.to_string())),
            Host::Ipv6(ip) => Ok(HostName(format!("[{ip}]"))),
        }
    }

    /// The normalised form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of `fetch.allow_private_hosts`: a host ([`HostName`]), and optionally the one
/// port it is trusted on (`"localhost:8080"`, `"[::1]:8080"`). Without a port every port of
/// the host is exempt, so a page that redirects to `localhost:6379` would reach whatever
/// listens there: naming the port keeps the exemption to the feed server itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PrivateHost {
    /// The host.
    pub host: HostName,
    /// The port, when only that one is trusted.
    pub port: Option<u16>,
}

impl PrivateHost {
    /// Parses `host`, `host:port` or `[v6]:port`.
    pub fn parse(s: &str) -> Result<PrivateHost, String> {
        let s = s.trim();
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            match rest.split_once(']') {
                Some((_, "")) => (s, None),
                Some((v6, p)) => match p.strip_prefix(':') {
                    Some(p) => (&s[..v6.len() + 2], Some(p)),
                    None => return Err("unexpected text after the bracketed address".into()),
                },
                None => return Err("unclosed [".into()),
            }
        } else {
            match s.split_once(':') {
                // One colon: a port. More: an IPv6 address without brackets (refused below).
                Some((h, p)) if !p.contains(':') => (h, Some(p)),
                _ => (s, None),
            }
        };
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{p:?} is not a port (1-65535)"))?,
            ),
            None => None,
        };
        let host = HostName::parse(host).map_err(|e| e.to_string())?;
        Ok(PrivateHost { host, port })
    }
}

impl fmt::Display for PrivateHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

impl Serialize for PrivateHost {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PrivateHost {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PrivateHost::parse(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "{s:?} is not a host, host:port or [address]:port (no scheme or path): {e}"
            ))
        })
    }
}

impl<'de> Deserialize<'de> for HostName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HostName::parse(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "{s:?} is not a host name or address (no scheme, port or path): {e}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("10MiB"), Some(10 << 20));
        assert_eq!(parse_bytes("2 kb"), Some(2000));
        assert_eq!(parse_bytes("12"), Some(12));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_bytes("99999999999999999999GiB"), None);
    }

    #[test]
    fn hosts_are_normalised() {
        let h = |s: &str| HostName::parse(s).map(|h| h.0);
        assert_eq!(h(" RSS-Bridge.LAN ").as_deref(), Ok("rss-bridge.lan"));
        assert_eq!(h("127.0.0.1").as_deref(), Ok("127.0.0.1"));
        assert_eq!(h("[::1]").as_deref(), Ok("[::1]"));
        assert!(h("").is_err());
        assert!(h("a b").is_err());
    }
}
