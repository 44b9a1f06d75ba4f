//! When to try again after a failure: one rule for everything wirewatch retries (a failing
//! feed, a webhook delivery, the digest's mail): the wait doubles per failure from a base, up
//! to a cap, with ±20 % jitter so that many failures that started together (a host that went
//! down for every feed on it) do not come back in lock-step. A server's own `Retry-After`
//! ([`retry_after`]) is read here too; what a caller does with it is the caller's rule.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// The longest `Retry-After` honoured: one day (a server asking for more is ignored past it).
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(86_400);

/// The wait after the `failures`-th failure in a row: `base × 2^(failures-1)`, at most `cap`
/// (but never less than `base`), then ±20 % jitter.
pub fn backoff(base: Duration, failures: u32, cap: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    exp.min(cap.max(base))
        .mul_f64(rand::thread_rng().gen_range(0.8..1.2))
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date (all three formats of RFC
/// 9110), capped at [`RETRY_AFTER_CAP`]. A date in the past gives zero.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let d = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is still "a very long time".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(d.min(RETRY_AFTER_CAP))
}

/// The `Retry-After` of a response's headers, if it has a usable one.
pub fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    retry_after(v, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let base = Duration::from_secs(300);
        let cap = Duration::from_secs(6 * 3600);
        let b1 = backoff(base, 1, cap);
        assert!(
            b1 >= Duration::from_secs(240) && b1 <= Duration::from_secs(360),
            "{b1:?}"
        );
        let b4 = backoff(base, 4, cap);
        assert!(
            b4 >= Duration::from_secs(1920) && b4 <= Duration::from_secs(2880),
            "{b4:?}"
        );
        assert!(backoff(base, 30, cap) <= cap.mul_f64(1.2));
        // A cap below the base gives the base.
        assert!(backoff(base, 3, Duration::from_secs(1)) >= Duration::from_secs(240));
        // The jitter spreads failures that started together.
        let waits: std::collections::HashSet<u128> =
            (0..20).map(|_| backoff(base, 2, cap).as_millis()).collect();
        assert!(waits.len() > 1);
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::now();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("99999999", now), Some(RETRY_AFTER_CAP));
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(RETRY_AFTER_CAP)
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(120));
        let d = retry_after(&later, now).expect("date form");
        assert!(
            d <= Duration::from_secs(120) && d >= Duration::from_secs(118),
            "{d:?}"
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(120));
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("", now), None);
    }
}
