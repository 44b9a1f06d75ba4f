//! Compaction: giving the space of forgotten records back to the file system.
//!
//! sled frees the pages of deleted records inside its files and reuses part of them as the
//! store grows again, but it never shrinks its files: after retention has forgotten months
//! of entries, the store stays as large as it ever was (the retention bench:
//! `benches/retention.rs`). [`compact`] copies every tree into a fresh database beside the
//! store (`db.compact`), checks the copy against the store (sled's checksum of every key and
//! value), and swaps it in. Only live records are copied, so the copy is as small as sled
//! makes what is kept.
//!
//! The swap survives a kill at any point. The copy counts only once it is whole and durable
//! and a marker file (`db.compact.ready`) says so; [`finish`], run by every open of the
//! store before sled opens it, then completes an interrupted swap (old store aside as
//! `db.compact.old`, copy in its place, marker and old store removed), or throws away a copy that
//! never got its marker. Every rename is made under a lock on the store's directory
//! ([`MoveLock`]), held by a compaction from before its copy to after its swap: a process
//! that opens the store meanwhile (`wirewatch status`, a daemon started by hand) finds it in
//! use instead of throwing away the copy being made, or opening the store between two
//! renames.
//!
//! A disk with less free space than the store's keys and values take is refused before
//! anything is copied ([`StoreError::NoRoom`]); one that fills up during the copy fails it,
//! and the copy is removed.
//!
//! sled has `Db::export`/`Db::import` for copying a database, but `import` panics on any
//! I/O error (a full disk is the likely one here), so the copy is made tree by tree with
//! batches, each error returned.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::codec::{io_err, Ctx};
use super::{cache_bytes, SledStore};
use crate::store::{Result, StoreError};

/// Sizes on disk of the store before and after [`compact`], in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// The database's directory before.
    pub before: u64,
    /// And after.
    pub after: u64,
}

/// Records copied per batch: large enough that sled's per-batch cost does not count, small
/// enough that a batch is a few megabytes at most.
const BATCH: usize = 2048;

fn copy_dir(db: &Path) -> PathBuf {
    db.with_extension("compact")
}

fn ready_marker(db: &Path) -> PathBuf {
    db.with_extension("compact.ready")
}

/// Where the store goes aside during the swap: a name of the compaction's own, never one a
/// user might give a copy kept by hand (`db.old`), which [`finish`] would remove.
fn old_dir(db: &Path) -> PathBuf {
    db.with_extension("compact.old")
}

/// The lock on the directory that holds the store (an advisory `flock`, let go when the
/// process ends, however it ends), taken without waiting: held elsewhere, the store is in use
/// ([`StoreError::Busy`]). A lock on the directory rather than on a file beside the store
/// leaves nothing to clean up, and nothing whose removal could race with its next taker.
struct MoveLock(#[allow(dead_code)] fs::File);

impl MoveLock {
    fn take(db: &Path) -> Result<MoveLock> {
        let dir = match db.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => dir.to_path_buf(),
            None => PathBuf::from("."),
        };
        let file = fs::File::open(&dir)
            .map_err(|e| io_err(&format!("opening {} to lock it", dir.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(MoveLock(file)),
            Err(fs::TryLockError::WouldBlock) => Err(StoreError::Busy {
                path: db.display().to_string(),
            }),
            Err(fs::TryLockError::Error(e)) => {
                Err(io_err(&format!("locking {}", dir.display()), e))
            }
        }
    }
}

/// Bytes under `path` (files of every depth), as `du` counts them without blocks.
pub fn dir_bytes(path: &Path) -> u64 {
    fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Bytes this process may still write on the disk that holds `db` (the directory beside it),
/// or `None` where that cannot be asked (the check is then skipped).
fn free_bytes(db: &Path) -> Option<u64> {
    let dir = match db.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir,
        None => Path::new("."),
    };
    #[cfg(unix)]
    {
        rustix::fs::statvfs(dir)
            .ok()
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Syncs every file and directory under `path`, and `path` itself: after a crash, the copy
/// is there whole, names and contents, or the marker that would move it in is not.
fn sync_tree(path: &Path) -> io::Result<()> {
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            fs::File::open(entry.path())?.sync_all()?;
        }
    }
    fs::File::open(path)?.sync_all()
}

/// Makes a rename or a removal durable: the directory holding it is synced.
fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => fs::File::open(dir)?.sync_all(),
        None => fs::File::open(".")?.sync_all(),
    }
}

fn remove_dir_if_there(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Compacts the embedded store at `db`: copies it ([`SledStore::copy_to_compaction`]), then
/// swaps the copy in ([`finish`]). The store must not be in use ([`StoreError::Busy`] when
/// it is); what it holds is the same after, record for record.
pub fn compact(db: &Path) -> Result<Compaction> {
    let _lock = MoveLock::take(db)?;
    // An earlier compaction killed in its swap is finished first.
    finish_locked(db)?;
    let before = dir_bytes(db);
    {
        let store = SledStore::open_in_place(db)?;
        store.copy_to_compaction()?;
    }
    finish_locked(db)?;
    Ok(Compaction {
        before,
        after: dir_bytes(db),
    })
}

impl SledStore {
    /// Copies every tree into a fresh database beside the store, checks it and marks it
    /// ready for [`finish`]. On any failure (a full disk) the copy is removed and the store
    /// is as it was.
    fn copy_to_compaction(&self) -> Result<()> {
        let target = copy_dir(&self.path);
        remove_dir_if_there(&target)
            .map_err(|e| io_err(&format!("removing an old {}", target.display()), e))?;
        self.check_room()?;
        // sled synced its files' contents; the names of those files (in the copy's directory
        // and below, and the copy's own) must be durable too before the marker says the copy
        // is whole.
        let copied = self.copy_trees(&target).and_then(|()| {
            sync_tree(&target)
                .and_then(|()| sync_parent(&target))
                .map_err(|e| io_err(&format!("syncing {}", target.display()), e))
        });
        if let Err(e) = copied {
            // The copy is worthless without its marker; leave nothing half-written behind.
            let _ = fs::remove_dir_all(&target);
            return Err(match e {
                StoreError::Sled {
                    context,
                    source: sled::Error::Io(io),
                } if io.kind() == io::ErrorKind::StorageFull => StoreError::Sled {
                    context: format!(
                        "{context}: no room on the disk for the copy, which takes about as much as the store keeps; the copy is removed and the store is unchanged"
                    ),
                    source: sled::Error::Io(io),
                },
                e => e,
            });
        }
        let marker = ready_marker(&self.path);
        fs::write(
            &marker,
            b"the copy beside is whole: move it in place of the store\n",
        )
        .and_then(|()| fs::File::open(&marker)?.sync_all())
        .and_then(|()| sync_parent(&marker))
        .map_err(|e| io_err(&format!("writing {}", marker.display()), e))
    }

    /// Refuses ([`StoreError::NoRoom`]) when the disk beside the store has less free space
    /// than the bytes of every key and value it keeps. sled's copy takes more than that (its
    /// pages and headers), so a disk that passes may still fill up during the copy (handled
    /// in [`SledStore::copy_to_compaction`]); one that fails certainly would. Refusing up front
    /// spares the other programs on that disk the time of a copy that fills it, and the user
    /// sled's own I/O error lines.
    fn check_room(&self) -> Result<()> {
        let Some(free) = free_bytes(&self.path) else {
            return Ok(());
        };
        let mut needed = 0u64;
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name).ctx("opening a tree to measure")?;
            for kv in tree.iter() {
                let (k, v) = kv.ctx("reading a record to measure")?;
                needed += (k.len() + v.len()) as u64;
            }
        }
        if free < needed {
            return Err(StoreError::NoRoom {
                path: self.path.display().to_string(),
                needed,
                free,
            });
        }
        Ok(())
    }

    fn copy_trees(&self, target: &Path) -> Result<()> {
        self.flush_texts()?;
        self.db.flush().ctx("flushing before compaction")?;
        let copy = sled::Config::new()
            .path(target)
            .cache_capacity(cache_bytes())
            .open()
            .ctx(format!("creating {}", target.display()))?;
        for name in self.db.tree_names() {
            let from = self.db.open_tree(&name).ctx("opening a tree to copy")?;
            let to = copy.open_tree(&name).ctx("creating a tree in the copy")?;
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for kv in from.iter() {
                let (k, v) = kv.ctx("reading a record to copy")?;
                batch.insert(k, v);
                n += 1;
                if n % BATCH == 0 {
                    to.apply_batch(std::mem::take(&mut batch))
                        .ctx("writing the copy")?;
                }
            }
            to.apply_batch(batch).ctx("writing the copy")?;
        }
        copy.flush().ctx("flushing the copy")?;
        let (mine, theirs) = (
            self.db.checksum().ctx("checking the store")?,
            copy.checksum().ctx("checking the copy")?,
        );
        if mine != theirs {
            return Err(StoreError::Corrupt {
                what: "compacted copy",
                message: format!(
                    "its checksum {theirs:08x} differs from the store's {mine:08x}; the store is unchanged"
                ),
            });
        }
        Ok(())
    }
}

/// Completes or undoes an interrupted compaction of the store at `db` (see the module doc);
/// nothing to do, the common case, costs three `stat` calls. Run before sled opens `db`.
pub(super) fn finish(db: &Path) -> Result<()> {
    if !copy_dir(db).exists() && !ready_marker(db).exists() && !old_dir(db).exists() {
        return Ok(());
    }
    // A compaction running now holds the lock: the store is in use.
    let _lock = MoveLock::take(db)?;
    finish_locked(db)
}

/// [`finish`] under the [`MoveLock`]: the state is seen again there, as another process may
/// have finished meanwhile.
fn finish_locked(db: &Path) -> Result<()> {
    let (copy, ready, old) = (copy_dir(db), ready_marker(db), old_dir(db));
    let io =
        |what: &str, path: &Path, e: io::Error| io_err(&format!("{what} {}", path.display()), e);
    if ready.exists() {
        if copy.exists() {
            if db.exists() {
                // An `old` here is what an earlier finished swap failed to remove.
                remove_dir_if_there(&old).map_err(|e| io("removing", &old, e))?;
                fs::rename(db, &old).map_err(|e| io("moving aside", db, e))?;
            }
            fs::rename(&copy, db).map_err(|e| io("moving in", &copy, e))?;
        } else if !db.exists() && old.exists() {
            // The copy is gone and so is the store: put the old one back.
            fs::rename(&old, db).map_err(|e| io("restoring", &old, e))?;
        }
        sync_parent(db).map_err(|e| io("syncing the directory of", db, e))?;
        fs::remove_file(&ready).map_err(|e| io("removing", &ready, e))?;
        tracing::info!(store = %db.display(), "compacted store moved in place");
    } else {
        // A copy without its marker was never finished: the store in place is the real one.
        remove_dir_if_there(&copy).map_err(|e| io("removing the unfinished", &copy, e))?;
    }
    if db.exists() {
        remove_dir_if_there(&old).map_err(|e| io("removing", &old, e))?;
    }
    sync_parent(db).map_err(|e| io("syncing the directory of", db, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in a temp dir with `n` records of 512 bytes.
    fn filled(n: usize) -> Result<(tempfile::TempDir, PathBuf)> {
        let dir = tempfile::tempdir().map_err(|e| io_err("tempdir", e))?;
        let db = dir.path().join("db");
        let store = SledStore::open(&db)?;
        for i in 0..n {
            store
                .meta
                .insert(format!("k{i:06}"), vec![b'x'; 512])
                .ctx("test insert")?;
        }
        store.db.flush().ctx("test flush")?;
        Ok((dir, db))
    }

    #[test]
    fn compaction_gives_back_forgotten_space_and_keeps_the_rest() -> Result<()> {
        let (_dir, db) = filled(20_000)?;
        {
            let store = SledStore::open(&db)?;
            for i in 0..19_000 {
                store.meta.remove(format!("k{i:06}")).ctx("test remove")?;
            }
            store.db.flush().ctx("test flush")?;
        }
        let c = compact(&db)?;
        assert!(
            c.after * 2 < c.before,
            "compaction gave back too little: {c:?}"
        );
        let store = SledStore::open(&db)?;
        assert_eq!(
            store.meta.len(),
            1_000 + 1,
            "kept records and the schema version"
        );
        assert!(store.meta.get("k019999").ctx("get")?.is_some());
        for leftover in [copy_dir(&db), ready_marker(&db), old_dir(&db)] {
            assert!(!leftover.exists(), "{} left behind", leftover.display());
        }
        Ok(())
    }

    /// Writes "in-copy", copies the store for compaction, then writes "after-copy": which of
    /// the two the store holds at the next open tells whether the copy moved in.
    fn copy_between_writes(db: &Path) -> Result<()> {
        let store = SledStore::open(db)?;
        store
            .meta
            .insert("in-copy", b"1".as_slice())
            .ctx("insert")?;
        store.copy_to_compaction()?;
        store
            .meta
            .insert("after-copy", b"1".as_slice())
            .ctx("insert")?;
        store.db.flush().ctx("flush")?;
        Ok(())
    }

    /// A kill after the copy was marked ready, before or after the old store moved aside:
    /// the next open moves the copy in.
    #[test]
    fn an_interrupted_swap_is_finished_by_the_next_open() -> Result<()> {
        let (_dir, db) = filled(10)?;
        for moved_aside in [false, true] {
            copy_between_writes(&db)?;
            if moved_aside {
                fs::rename(&db, old_dir(&db)).map_err(|e| io_err("rename", e))?;
            }
            let store = SledStore::open(&db)?;
            assert!(store.meta.get("in-copy").ctx("get")?.is_some());
            assert!(store.meta.get("after-copy").ctx("get")?.is_none());
            assert!(!ready_marker(&db).exists() && !old_dir(&db).exists());
            store.meta.remove("in-copy").ctx("remove")?;
            store.db.flush().ctx("flush")?;
        }
        Ok(())
    }

    /// While a compaction runs (its lock held, its copy half made), another process opening
    /// the store finds it in use and leaves the copy alone; once the lock is let go, an open
    /// throws the unfinished copy away.
    #[test]
    fn a_running_compaction_keeps_other_openers_out() -> Result<()> {
        let (_dir, db) = filled(10)?;
        fs::create_dir(copy_dir(&db)).map_err(|e| io_err("mkdir", e))?;
        fs::write(copy_dir(&db).join("conf"), b"half made").map_err(|e| io_err("write", e))?;
        let lock = MoveLock::take(&db)?;
        assert!(matches!(SledStore::open(&db), Err(StoreError::Busy { .. })));
        assert!(matches!(compact(&db), Err(StoreError::Busy { .. })));
        assert!(
            copy_dir(&db).join("conf").exists(),
            "the copy was left alone"
        );
        drop(lock);
        let store = SledStore::open(&db)?;
        assert!(store.meta.get("k000009").ctx("get")?.is_some());
        assert!(!copy_dir(&db).exists());
        Ok(())
    }

    /// A copy of the store a user keeps beside it by hand as `db.old` (before an upgrade,
    /// say) is theirs: opening and compacting the store leave it alone.
    #[test]
    fn a_hand_made_db_old_is_left_alone() -> Result<()> {
        let (dir, db) = filled(10)?;
        let kept = dir.path().join("db.old");
        fs::create_dir(&kept).map_err(|e| io_err("mkdir", e))?;
        fs::write(kept.join("conf"), b"mine").map_err(|e| io_err("write", e))?;
        drop(SledStore::open(&db)?);
        compact(&db)?;
        drop(SledStore::open(&db)?);
        assert!(kept.join("conf").exists(), "db.old was removed");
        Ok(())
    }

    /// A kill while copying: the copy has no marker and the store in place stays the store.
    #[test]
    fn an_unfinished_copy_is_thrown_away() -> Result<()> {
        let (_dir, db) = filled(10)?;
        copy_between_writes(&db)?;
        fs::remove_file(ready_marker(&db)).map_err(|e| io_err("remove", e))?;
        let store = SledStore::open(&db)?;
        assert!(store.meta.get("after-copy").ctx("get")?.is_some());
        assert!(store.meta.get("in-copy").ctx("get")?.is_some());
        assert!(!copy_dir(&db).exists());
        Ok(())
    }
}
