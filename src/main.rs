//! The `wirewatch` binary: tunes the allocator, then runs the command line
//! ([`wirewatch::cli`]).

use std::process::ExitCode;

/// Tunes glibc's malloc for a long-running daemon with a few busy threads:
///
/// - Arenas capped at three. By default glibc gives each thread that allocates its own arena
///   (up to 8 per core), and sled's I/O threads and tokio's workers each fragment their own:
///   on a 3,000-feed cycle, peak RSS 139-144 MB with the default, 125-128 MB with two. But
///   with two, threads queue for an arena's lock (a tenth of all CPU samples of a cycle went
///   to that lock's futex wake-ups and waits); three halve that.
/// - Allocations of 128 KiB and more mapped on their own, returned to the system when freed.
///   glibc's default threshold moves up after each large free (to 32 MiB at most), so large
///   buffers (page bodies, sled's) then come from the heap and leave it fragmented: peak RSS
///   on a 10,000-feed cycle varied between 130 and 150 MB with the moving threshold, 125-130
///   with it fixed (`benches/README.md`).
///
/// `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_`, when set, win over these.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: called first thing in `main`, before any other thread exists; mallopt only
    // sets a malloc parameter, and a refusal (return 0) leaves the default in place.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 3);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn main() -> ExitCode {
    tune_malloc();
    wirewatch::cli::main()
}
