//! Kept texts beside the sled database (see [`TextStore`]): append-only segment files, one per
//! UTC day, in `<db>.texts/YYYY-MM-DD.seg`.
//!
//! Why not a sled tree: kept texts are large values written once per judged item and read
//! almost never (a reader's mark, a re-judged window). In a sled tree they cost more than
//! everything else the store does per item: measured on a 10,000-feed cycle (200,000 items,
//! `benches/e2e.sh`), the tree made the cycle about 1.4 times as expensive in CPU and doubled the
//! store on disk. Appending to a file costs a `write` per item; pruning a day is deleting a
//! file; the rare reads scan the window's files in order, which is what re-judging a window
//! wants anyway (a mark reads until it finds its item, newest first). No crate we know of does
//! this small thing without bringing a database of its own.
//!
//! A record is `len: u32 LE` (of what follows, before the checksum) ‖ `at: i64 LE` (µs) ‖
//! `url_len: u16 LE` ‖ URL ‖ packed text ([`crate::store::texts::pack`]) ‖ `crc32: u32 LE` (of everything after `len`).
//! Appends are buffered and written out by [`SledStore::flush_texts`] (the store's flush, so
//! at the end of every pass and at shutdown) and before any read. A crash may lose the texts
//! of the last instants (the decisions themselves are in sled) or leave a torn record at the
//! end of the day's file: reads stop at the first record that does not check out, and the
//! first append of a process cuts such a tail off before writing after it.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use super::codec::io_err;
use super::SledStore;
use crate::store::{KeptTextVisitor, Result, StoreError, TextStore};

/// The day segment being appended to.
pub(super) struct Appender {
    day: NaiveDate,
    out: BufWriter<File>,
}

/// The segment directory of a database path.
pub(super) fn dir_of(db: &Path) -> PathBuf {
    db.with_extension("texts")
}

fn segment(dir: &Path, day: NaiveDate) -> PathBuf {
    dir.join(format!("{}.seg", day.format("%Y-%m-%d")))
}

/// The days of the segments in `dir`, oldest first.
fn segments(dir: &Path) -> Result<Vec<(NaiveDate, PathBuf)>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&format!("listing {}", dir.display()), e)),
    };
    let mut out: Vec<(NaiveDate, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let day = NaiveDate::parse_from_str(name.strip_suffix(".seg")?, "%Y-%m-%d").ok()?;
            Some((day, e.path()))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The largest record (time, URL and packed text) a segment holds.
const MAX_RECORD: usize = 64 << 20;

/// One record read back.
struct Record {
    at: i64,
    url: String,
    packed: Vec<u8>,
}

/// Reads the next record; `None` at the end of the file or at the first record that does not
/// check out (a torn tail), with the offset where the valid part ends.
fn read_record(r: &mut impl Read) -> Option<Record> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).ok()?;
    let len = u32::from_le_bytes(len) as usize;
    if !(10..=MAX_RECORD).contains(&len) {
        return None;
    }
    let mut body = vec![0u8; len + 4];
    r.read_exact(&mut body).ok()?;
    let (body, crc) = body.split_at(len);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return None;
    }
    let at = i64::from_le_bytes(body.get(..8)?.try_into().ok()?);
    let url_len = u16::from_le_bytes(body.get(8..10)?.try_into().ok()?) as usize;
    let url = std::str::from_utf8(body.get(10..10 + url_len)?)
        .ok()?
        .to_string();
    Some(Record {
        at,
        url,
        packed: body.get(10 + url_len..)?.to_vec(),
    })
}

/// Calls `f` with every valid record of a segment, in order; returns where the valid part
/// ends.
fn scan(path: &Path, f: &mut dyn FnMut(Record) -> bool) -> Result<u64> {
    let file = File::open(path).map_err(|e| io_err(&format!("opening {}", path.display()), e))?;
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut end = 0u64;
    while let Some(rec) = read_record(&mut r) {
        end += 4 + 8 + 2 + rec.url.len() as u64 + rec.packed.len() as u64 + 4;
        if !f(rec) {
            break;
        }
    }
    Ok(end)
}

impl SledStore {
    /// Writes the buffered appends out (part of the store's flush).
    pub(super) fn flush_texts(&self) -> Result<()> {
        let mut app = self.texts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = app.as_mut() {
            a.out.flush().map_err(|e| io_err("writing kept texts", e))?;
        }
        Ok(())
    }
}

impl TextStore for SledStore {
    fn keep_text(&self, url: &str, at: DateTime<Utc>, packed: &[u8]) -> Result<()> {
        let day = at.date_naive();
        let mut app = self.texts.lock().unwrap_or_else(|p| p.into_inner());
        if app.as_ref().is_none_or(|a| a.day != day) {
            if let Some(mut old) = app.take() {
                old.out
                    .flush()
                    .map_err(|e| io_err("writing kept texts", e))?;
            }
            std::fs::create_dir_all(&self.texts_dir)
                .map_err(|e| io_err(&format!("creating {}", self.texts_dir.display()), e))?;
            let path = segment(&self.texts_dir, day);
            // A torn tail (a crash mid-append) is cut off before appending after it.
            let valid = if path.exists() {
                let valid = scan(&path, &mut |_| true)?;
                let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(valid);
                if len > valid {
                    tracing::warn!(
                        file = %path.display(),
                        cut = len - valid,
                        "kept texts: an unreadable tail (a crash mid-append) cut off"
                    );
                }
                valid
            } else {
                0
            };
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| io_err(&format!("opening {}", path.display()), e))?;
            file.set_len(valid)
                .and_then(|_| file.seek(SeekFrom::Start(valid)))
                .map_err(|e| io_err(&format!("opening {}", path.display()), e))?;
            *app = Some(Appender {
                day,
                out: BufWriter::with_capacity(1 << 16, file),
            });
        }
        let Some(a) = app.as_mut() else {
            return Ok(());
        };
        // What the reader would take for a torn tail, and cut off with all after it, is not
        // written ([`read_record`]): such a text is simply not kept.
        if url.len() > u16::MAX as usize || 10 + url.len() + packed.len() > MAX_RECORD {
            tracing::warn!(url = %url.get(..200).unwrap_or("(long)"), bytes = packed.len(), "text too large to keep");
            return Ok(());
        }
        let url = url.as_bytes();
        let mut body = Vec::with_capacity(10 + url.len() + packed.len());
        body.extend_from_slice(&at.timestamp_micros().to_le_bytes());
        body.extend_from_slice(&(url.len() as u16).to_le_bytes());
        body.extend_from_slice(url);
        body.extend_from_slice(packed);
        let crc = crc32fast::hash(&body);
        a.out
            .write_all(&(body.len() as u32).to_le_bytes())
            .and_then(|_| a.out.write_all(&body))
            .and_then(|_| a.out.write_all(&crc.to_le_bytes()))
            .map_err(|e| io_err("writing kept texts", e))
    }

    fn kept_text(&self, url: &str) -> Result<Option<String>> {
        self.flush_texts()?;
        // Newest day first; within a day the last record wins (a text kept again). A copy
        // that does not inflate gives way to an older one.
        let mut corrupt = false;
        for (_, path) in segments(&self.texts_dir)?.into_iter().rev() {
            let mut found = None;
            scan(&path, &mut |r| {
                if r.url == url {
                    found = Some(r.packed);
                }
                true
            })?;
            if let Some(p) = found {
                match crate::store::texts::unpack(&p) {
                    Some(text) => return Ok(Some(text)),
                    None => corrupt = true,
                }
            }
        }
        if corrupt {
            return Err(StoreError::Corrupt {
                what: "kept text",
                message: format!("the text kept for {url} does not inflate"),
            });
        }
        Ok(None)
    }

    /// One scan, newest day first, for all of them: a read of each in turn scanned the days
    /// once per URL (hundreds of near misses after every pass that alerted). A text that does
    /// not inflate gives way to an older copy, else is left out, and said.
    fn kept_texts(&self, urls: &[&str]) -> Result<std::collections::HashMap<String, String>> {
        self.flush_texts()?;
        let mut want: std::collections::HashSet<&str> = urls.iter().copied().collect();
        let mut out = std::collections::HashMap::new();
        for (_, path) in segments(&self.texts_dir)?.into_iter().rev() {
            if want.is_empty() {
                break;
            }
            // Within a day the last record wins (a text kept again).
            let mut found: std::collections::HashMap<String, Vec<u8>> = Default::default();
            scan(&path, &mut |r| {
                if want.contains(r.url.as_str()) {
                    found.insert(r.url, r.packed);
                }
                true
            })?;
            for (url, packed) in found {
                match crate::store::texts::unpack(&packed) {
                    Some(text) => {
                        want.remove(url.as_str());
                        out.insert(url, text);
                    }
                    None => {
                        tracing::warn!(url, "a kept text does not inflate; looking further back")
                    }
                }
            }
        }
        Ok(out)
    }

    fn for_each_kept_text(&self, since: DateTime<Utc>, f: &mut KeptTextVisitor<'_>) -> Result<()> {
        self.flush_texts()?;
        let since_us = since.timestamp_micros();
        for (day, path) in segments(&self.texts_dir)? {
            if day < since.date_naive() {
                continue;
            }
            scan(&path, &mut |r| {
                if r.at >= since_us {
                    let at = DateTime::from_timestamp_micros(r.at).unwrap_or_default();
                    f(&r.url, at, &r.packed);
                }
                true
            })?;
        }
        Ok(())
    }

    fn prune_texts(&self, before: DateTime<Utc>) -> Result<usize> {
        let mut removed = 0;
        for (day, path) in segments(&self.texts_dir)? {
            // Whole days only: a day's file goes once all of it is older than `before`.
            if day >= before.date_naive() {
                break;
            }
            let mut app = self.texts.lock().unwrap_or_else(|p| p.into_inner());
            if app.as_ref().is_some_and(|a| a.day == day) {
                *app = None;
            }
            std::fs::remove_file(&path)
                .map_err(|e| io_err(&format!("removing {}", path.display()), e))?;
            removed += 1;
        }
        Ok(removed)
    }

    fn kept_texts_bytes(&self) -> Result<u64> {
        self.flush_texts()?;
        Ok(segments(&self.texts_dir)?
            .iter()
            .filter_map(|(_, p)| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum())
    }
}
