//! The delivery journal: an append-only file of `alert endpoint` lines, written with one
//! `write` call the moment a receiver answers 2xx.
//!
//! Written by hand because it is twenty lines over `std::fs` and no crate does exactly this:
//! sled itself only makes a write crash-safe with a flush (an fsync), which takes
//! milliseconds; in that window a `kill -9` would make wirewatch send the alert again. A
//! plain append reaches the OS in microseconds and survives the process dying.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Mutex;

/// The journal file and the entries it holds.
pub(crate) struct Journal {
    file: Mutex<File>,
    entries: Mutex<HashSet<(String, String)>>,
}

impl Journal {
    /// Opens (creating) the journal and reads what it holds. A torn last line (a crash in
    /// mid-write) is ignored.
    pub(crate) fn open(path: &Path) -> io::Result<Journal> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let entries = text
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .filter_map(|l| {
                let (a, e) = l.trim_end().split_once(' ')?;
                Some((a.to_string(), e.to_string()))
            })
            .collect();
        Ok(Journal {
            file: Mutex::new(file),
            entries: Mutex::new(entries),
        })
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        match m.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Appends one entry (one `write` call).
    pub(crate) fn append(&self, alert: &str, endpoint: &str) -> io::Result<()> {
        let line = format!("{alert} {endpoint}\n");
        Self::lock(&self.file).write_all(line.as_bytes())?;
        Self::lock(&self.entries).insert((alert.to_string(), endpoint.to_string()));
        Ok(())
    }

    /// Whether an entry is in the journal.
    pub(crate) fn contains(&self, alert: &str, endpoint: &str) -> bool {
        Self::lock(&self.entries).contains(&(alert.to_string(), endpoint.to_string()))
    }

    /// A copy of every entry.
    pub(crate) fn entries(&self) -> HashSet<(String, String)> {
        Self::lock(&self.entries).clone()
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        Self::lock(&self.entries).len()
    }

    /// Empties the journal (call only when sled holds every entry durably).
    pub(crate) fn clear(&self) -> io::Result<()> {
        let file = Self::lock(&self.file);
        let mut entries = Self::lock(&self.entries);
        file.set_len(0)?;
        entries.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("j");
        let j = Journal::open(&p).expect("open");
        j.append("al_1", "ep").expect("append");
        drop(j);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .and_then(|mut f| f.write_all(b"al_2 e"))
            .expect("torn write");
        let j = Journal::open(&p).expect("reopen");
        assert!(j.contains("al_1", "ep"));
        assert!(!j.contains("al_2", "e"));
        j.clear().expect("clear");
        assert_eq!(j.len(), 0);
        assert_eq!(std::fs::metadata(&p).expect("meta").len(), 0);
    }
}
