//! Near-duplicate lookup + insert with N stored items (default 1,000,000), one thread: the
//! daemon's index (`DupIndex`: lookups in memory, one record per text written to sled) against
//! the bare in-memory reference index (`MemIndex`, no persistence) on the same documents in the
//! same run, the bytes each stored item costs on disk, and the time to load the index back
//! from sled (a daemon restart).
//!
//! Documents are synthetic: 200-1000 words drawn from the shipped English word list with a
//! Zipf-like rank distribution. One query in ten is a near-copy of a stored document (last
//! paragraph dropped, a sentence added, 1 % of words changed) and must be found.
//!
//! Run: `cargo bench --bench dedup` (`WW_BENCH_N=100000` for a quicker run).

use std::time::{Duration, Instant};

use wirewatch::dedup::{DupParams, DupVerdict, MemIndex, Origin, Signature};
use wirewatch::judge::DupIndex;
use wirewatch::store::Store;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: a fixed, fast, dependency-free sequence for reproducible documents.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn words() -> Vec<String> {
    include_str!("../src/judge/relevance/data/background_en.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect()
}

fn doc(vocab: &[String], seed: u64) -> String {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let n = 200 + r.below(800) as usize;
    let v = vocab.len() as f64;
    let mut s = String::with_capacity(n * 7);
    for i in 0..n {
        let rank = (v.powf(r.unit()) as usize)
            .saturating_sub(1)
            .min(vocab.len() - 1);
        s.push_str(&vocab[rank]);
        s.push(if i % 23 == 22 { '.' } else { ' ' });
        if i % 90 == 89 {
            s.push_str("\n\n");
        }
    }
    s
}

fn near_copy(text: &str, rng: &mut Rng) -> String {
    let mut paras: Vec<&str> = text.split("\n\n").collect();
    if paras.len() > 2 {
        paras.pop();
    }
    let mut s = String::from(
        "This article was first published elsewhere and is republished with permission.\n\n",
    );
    for p in paras {
        for w in p.split(' ') {
            if rng.below(100) == 0 {
                s.push_str("changed ");
            } else {
                s.push_str(w);
                s.push(' ');
            }
        }
        s.push_str("\n\n");
    }
    s
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                total += dir_bytes(&path);
            } else if let Ok(m) = e.metadata() {
                total += m.len();
            }
        }
    }
    total
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::var("WW_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let queries: u64 = 20_000;
    let vocab = words();
    let params = DupParams::default();
    let tmp = tempfile::tempdir()?;
    let store = Store::open(&tmp.path().join("db"))?;
    let mut mem = MemIndex::with_capacity((n + queries) as usize);
    let mut idx = DupIndex::default();

    println!("dedup bench: {n} stored items, {queries} queries, one thread");
    let (mut t_mem, mut t_sled, mut t_sig) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let t0 = Instant::now();
    for id in 0..n {
        let text = doc(&vocab, id);
        let s = Instant::now();
        let sig = Signature::from_text(&text);
        t_sig += s.elapsed();
        let s = Instant::now();
        mem.insert(id, &sig, Origin::Item);
        t_mem += s.elapsed();
        let s = Instant::now();
        idx.store_and_insert(&store, id, format!("item:{id}"), &sig, Origin::Item, 0)?;
        t_sled += s.elapsed();
        if id > 0 && id % 100_000 == 0 {
            eprintln!("  filled {id} ({:.0} s)", t0.elapsed().as_secs_f64());
        }
    }
    store.flush_blocking()?;
    println!(
        "fill: signature {:.0}/s; insert MemIndex {:.0}/s, DupIndex (memory + sled record) {:.0}/s",
        n as f64 / t_sig.as_secs_f64(),
        n as f64 / t_mem.as_secs_f64(),
        n as f64 / t_sled.as_secs_f64()
    );
    let bytes = dir_bytes(tmp.path());
    println!(
        "sled state: {:.1} MB for {n} items = {:.0} bytes/item on disk",
        bytes as f64 / 1e6,
        bytes as f64 / n as f64
    );

    let mut rng = Rng(0x1234_5678_9abc_def1);
    let texts: Vec<(String, Option<u64>)> = (0..queries)
        .map(|q| {
            if q % 10 == 0 {
                let of = rng.below(n);
                (near_copy(&doc(&vocab, of), &mut rng), Some(of))
            } else {
                (doc(&vocab, n + q), None)
            }
        })
        .collect();
    let sigs: Vec<Signature> = texts.iter().map(|(t, _)| Signature::from_text(t)).collect();

    // MemIndex: lookup, insert when unique.
    let t = Instant::now();
    let mut mem_found = 0;
    for (q, sig) in sigs.iter().enumerate() {
        match mem.query(sig, &params) {
            DupVerdict::Duplicate { of, .. } if texts[q].1 == Some(of) => mem_found += 1,
            DupVerdict::Duplicate { .. } => {}
            _ => mem.insert(n + q as u64, sig, Origin::Item),
        }
    }
    let mem_rate = queries as f64 / t.elapsed().as_secs_f64();

    // The daemon's path: lookup in memory, insert = sled record + memory.
    let t = Instant::now();
    let mut sled_found = 0;
    for (q, sig) in sigs.iter().enumerate() {
        match idx.judge_confirmed(&store, &[], sig, None, &params, |_| None)? {
            DupVerdict::Duplicate { of, .. } if texts[q].1 == Some(of) => sled_found += 1,
            DupVerdict::Duplicate { .. } => {}
            _ => {
                let id = n + q as u64;
                idx.store_and_insert(&store, id, format!("item:{id}"), sig, Origin::Item, 0)?;
            }
        }
    }
    let sled_rate = queries as f64 / t.elapsed().as_secs_f64();
    println!(
        "lookup + insert at {n} stored (signatures precomputed): DupIndex {sled_rate:.0} items/s, MemIndex {mem_rate:.0} items/s, ratio {:.2}",
        sled_rate / mem_rate
    );
    println!(
        "near-copies found: DupIndex {sled_found}/{}, MemIndex {mem_found}/{}",
        queries / 10,
        queries / 10
    );
    store.flush_blocking()?;
    let t = Instant::now();
    let (loaded, bad) = DupIndex::load(&store, 0, true)?;
    println!(
        "restart: DupIndex loaded {} records from sled in {:.1} s ({bad} unreadable)",
        loaded.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
