//! Digest schedule across DST changes in Europe/Berlin (2026: spring forward
//! on 29 March 02:00 CET -> 03:00 CEST, fall back on 25 October 03:00 CEST -> 02:00 CET).

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;
use wirewatch::notify::{due_day, next_digest_time};

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("time")
}
fn d(y: i32, mo: u32, da: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, da).expect("date")
}
fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339")
}

/// Follows the schedule from `start` for `n` sends.
fn sends(at: NaiveTime, tz: Tz, start: &str, n: usize) -> Vec<(NaiveDate, DateTime<Utc>)> {
    let mut after = utc(start);
    let mut out = Vec::new();
    for _ in 0..n {
        let (day, when) = next_digest_time(at, tz, after);
        assert!(when > after, "strictly after");
        out.push((day, when));
        after = when;
    }
    out
}

#[test]
fn spring_forward_0800_stays_at_eight_local() {
    let got = sends(t(8, 0), Berlin, "2026-03-27T12:00:00Z", 4);
    assert_eq!(
        got,
        vec![
            (d(2026, 3, 28), utc("2026-03-28T07:00:00Z")), // 08:00 CET
            (d(2026, 3, 29), utc("2026-03-29T06:00:00Z")), // 08:00 CEST
            (d(2026, 3, 30), utc("2026-03-30T06:00:00Z")),
            (d(2026, 3, 31), utc("2026-03-31T06:00:00Z")),
        ]
    );
    // 23 hours between the two sends around the change.
    assert_eq!((got[1].1 - got[0].1).num_hours(), 23);
}

#[test]
fn spring_forward_0230_is_skipped_and_runs_at_0300() {
    let got = sends(t(2, 30), Berlin, "2026-03-27T12:00:00Z", 3);
    assert_eq!(
        got,
        vec![
            (d(2026, 3, 28), utc("2026-03-28T01:30:00Z")), // 02:30 CET
            (d(2026, 3, 29), utc("2026-03-29T01:00:00Z")), // 02:30 does not exist: 03:00 CEST
            (d(2026, 3, 30), utc("2026-03-30T00:30:00Z")), // 02:30 CEST
        ]
    );
    assert_eq!(
        got[1]
            .1
            .with_timezone(&Berlin)
            .format("%H:%M %Z")
            .to_string(),
        "03:00 CEST"
    );
    // Asked from inside the skipped hour's neighbourhood: 01:59 CET -> 03:00 CEST.
    assert_eq!(
        next_digest_time(t(2, 30), Berlin, utc("2026-03-29T00:59:00Z")),
        (d(2026, 3, 29), utc("2026-03-29T01:00:00Z"))
    );
}

#[test]
fn fall_back_0230_runs_once_at_first_occurrence() {
    let got = sends(t(2, 30), Berlin, "2026-10-23T12:00:00Z", 3);
    assert_eq!(
        got,
        vec![
            (d(2026, 10, 24), utc("2026-10-24T00:30:00Z")), // 02:30 CEST
            (d(2026, 10, 25), utc("2026-10-25T00:30:00Z")), // first 02:30 (CEST), not 01:30Z (CET)
            (d(2026, 10, 26), utc("2026-10-26T01:30:00Z")), // 02:30 CET
        ]
    );
    // Between the two 02:30s the next send is the next day's, not the repeat.
    assert_eq!(
        next_digest_time(t(2, 30), Berlin, utc("2026-10-25T01:00:00Z")),
        (d(2026, 10, 26), utc("2026-10-26T01:30:00Z"))
    );
    assert_eq!((got[2].1 - got[1].1).num_hours(), 25);
}

#[test]
fn fall_back_0800_stays_at_eight_local() {
    let got = sends(t(8, 0), Berlin, "2026-10-23T12:00:00Z", 3);
    assert_eq!(
        got,
        vec![
            (d(2026, 10, 24), utc("2026-10-24T06:00:00Z")), // 08:00 CEST
            (d(2026, 10, 25), utc("2026-10-25T07:00:00Z")), // 08:00 CET
            (d(2026, 10, 26), utc("2026-10-26T07:00:00Z")),
        ]
    );
}

#[test]
fn due_day_for_send_on_startup() {
    // 07:59 CEST on the spring-forward day: not yet due; 08:00 exactly: due.
    assert_eq!(due_day(t(8, 0), Berlin, utc("2026-03-29T05:59:00Z")), None);
    assert_eq!(
        due_day(t(8, 0), Berlin, utc("2026-03-29T06:00:00Z")),
        Some(d(2026, 3, 29))
    );
    // Skipped 02:30 is due from 03:00 CEST on.
    assert_eq!(due_day(t(2, 30), Berlin, utc("2026-03-29T00:59:59Z")), None);
    assert_eq!(
        due_day(t(2, 30), Berlin, utc("2026-03-29T01:00:00Z")),
        Some(d(2026, 3, 29))
    );
    // Repeated 02:30 is due from its first occurrence.
    assert_eq!(due_day(t(2, 30), Berlin, utc("2026-10-25T00:29:00Z")), None);
    assert_eq!(
        due_day(t(2, 30), Berlin, utc("2026-10-25T00:30:00Z")),
        Some(d(2026, 10, 25))
    );
    // 23:30 UTC on 25 October is already 00:30 on the 26th in Berlin.
    assert_eq!(due_day(t(8, 0), Berlin, utc("2026-10-25T23:30:00Z")), None);
    assert_eq!(
        due_day(t(0, 15), Berlin, utc("2026-10-25T23:30:00Z")),
        Some(d(2026, 10, 26))
    );
}

#[test]
fn schedule_is_local_to_the_zone_not_utc() {
    // 08:00 in Auckland on 2026-04-08 is 20:00 UTC the day before.
    let tz: Tz = "Pacific/Auckland".parse().expect("tz");
    assert_eq!(
        next_digest_time(
            t(8, 0),
            tz,
            Utc.with_ymd_and_hms(2026, 4, 7, 12, 0, 0).unwrap()
        ),
        (d(2026, 4, 8), utc("2026-04-07T20:00:00Z"))
    );
}
