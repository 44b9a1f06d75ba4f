//! When a digest is due: the schedule maths, on the local wall clock of the digest's time zone,
//! so that a digest set for 08:00 stays at 08:00 across DST changes ([`next_digest_time`] has
//! the rules at skipped and repeated times). Pure functions: the digest loop and
//! `wirewatch digest` ask them, tests check them across real time-zone transitions.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The UTC instant at which the wall clock in `tz` reads `at` on `day`.
///
/// A repeated wall time (DST ends) gives its first occurrence; a skipped one
/// (DST starts) gives the first valid instant after it, i.e. the moment the
/// clock jumps (02:30 on a 02:00→03:00 day gives 03:00 local). Skips are
/// searched minute by minute over up to two days, which covers every tz
/// database transition (all fall on whole minutes; the longest skip is a day).
pub fn send_instant(day: NaiveDate, at: NaiveTime, tz: Tz) -> Option<DateTime<Utc>> {
    let first_valid = |wall| match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => None,
    };
    let wall = day.and_time(at);
    if let Some(t) = first_valid(wall) {
        return Some(t);
    }
    let minute = wall.with_second(0)?.with_nanosecond(0)?;
    (1..=2 * 24 * 60).find_map(|k| first_valid(minute + Duration::minutes(k)))
}

/// The next instant (strictly after `after`) at which the local wall clock in
/// `tz` reads `at`, and the local date that send covers.
///
/// Correct across DST: a skipped time runs at the first valid instant after it;
/// a repeated one runs once, at its first occurrence.
pub fn next_digest_time(at: NaiveTime, tz: Tz, after: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
    let today = after.with_timezone(&tz).date_naive();
    // Start a day early: a send for yesterday's date can fall on today's
    // wall-clock date when a whole day is skipped.
    let mut day = today.pred_opt().unwrap_or(today);
    for _ in 0..5 {
        if let Some(when) = send_instant(day, at, tz) {
            if when > after {
                return (day, when);
            }
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    // Only reachable at the end of chrono's date range.
    (today, after + Duration::days(1))
}

/// The local date whose digest is due at `now`, for send-on-startup:
/// `Some(today)` when `now` is at or past today's send time in `tz`, else `None`.
///
/// Only today is considered; whether earlier days were sent is the caller's record.
pub fn due_day(at: NaiveTime, tz: Tz, now: DateTime<Utc>) -> Option<NaiveDate> {
    let today = now.with_timezone(&tz).date_naive();
    let when = send_instant(today, at, tz)?;
    (now >= when).then_some(today)
}
