//! SSRF: with `allow_private_networks = false` (the default) nothing on loopback, private,
//! link-local (cloud metadata), unique-local or unspecified addresses is fetched, whatever the
//! spelling of the address (decimal, octal, hex, short forms, IPv4-mapped IPv6) or a name
//! resolving to it, for feeds and for pages (`wirewatch extract URL` uses the fetcher the
//! pipeline uses for article pages). Real servers listen on the loopback addresses tried and
//! record every request: the test proves none reached them, and proves they were reachable by
//! running the same URLs with `allow_private_networks = true`.
//!
//! Not testable offline: a redirect from a public first hop to a private address (the first
//! hop must be an allowed, that is public, server). The redirect path runs the same check on
//! every hop (`fetch::Fetcher::get` calls `check_url` per hop and connects through the guarded
//! resolver); here a redirect is only exercised from an already-refused first hop.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;

/// A server counting its requests, answering a one-item feed (or a page) to anything.
fn counting_server(v6: bool) -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let h = h.clone();
        async move {
            h.fetch_add(1, Ordering::SeqCst);
            ([("content-type", "application/rss+xml")], rss("ssrf", 0, 1))
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async move {
            let bind = if v6 { "[::1]:0" } else { "127.0.0.1:0" };
            match tokio::net::TcpListener::bind(bind).await {
                Ok(l) => {
                    tx.send(Some(l.local_addr().expect("addr").port()))
                        .expect("send");
                    axum::serve(l, app).await.expect("serve");
                }
                Err(_) => tx.send(None).expect("send"),
            }
        });
    });
    let port = rx.recv().expect("port");
    (port.unwrap_or(0), hits)
}

fn once(env: &TestEnv) -> serde_json::Value {
    let out = wirewatch_ok(&["once", "--json", "-c", env.config_str()]);
    serde_json::from_str(out.trim()).expect("json")
}

fn urls(p4: u16, p6: u16) -> Vec<String> {
    let mut v: Vec<String> = [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "017700000001",
        "localhost",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "0.0.0.0",
        "0",
    ]
    .iter()
    .enumerate()
    .map(|(i, h)| format!("http://{h}:{p4}/feed{i}.xml"))
    .collect();
    if p6 != 0 {
        v.push(format!("http://[::1]:{p6}/feed.xml"));
    }
    v
}

/// Addresses with no server behind them: the refusal must come before any connection.
const UNREACHABLE: &[&str] = &[
    "http://10.0.0.1/feed.xml",
    "http://172.16.0.1/feed.xml",
    "http://192.168.1.1/feed.xml",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00::1]/feed.xml",
    "http://[fe80::1]/feed.xml",
    "http://[::]/feed.xml",
    "http://100.64.0.1/feed.xml",
    "http://0xa9fea9fe/latest/meta-data/?hex",
];

#[test]
fn private_addresses_in_every_spelling_are_refused() {
    let (p4, hits4) = counting_server(false);
    let (p6, hits6) = counting_server(true);
    let all: Vec<String> = urls(p4, p6)
        .into_iter()
        .chain(UNREACHABLE.iter().map(|s| s.to_string()))
        .collect();
    let feeds: String = all
        .iter()
        .enumerate()
        .map(|(i, u)| format!("[[feeds]]\nname = \"f{i}\"\nurl = \"{u}\"\n"))
        .collect();
    let env = TestEnv::new("", &feeds);
    let text = std::fs::read_to_string(&env.config).expect("read").replace(
        "allow_private_networks = true",
        "allow_private_networks = false",
    );
    std::fs::write(&env.config, text).expect("write");
    let r = once(&env);
    let mut refused = 0;
    for (i, u) in all.iter().enumerate() {
        let f = r["feeds"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["name"] == format!("f{i}")))
            .unwrap_or_else(|| panic!("no report for {u}: {r}"));
        let err = f["error"].as_str().unwrap_or("");
        assert!(
            err.contains("not a public address") || err.contains("non-public"),
            "{u} must be refused by the guard, got {err:?}"
        );
        refused += 1;
    }
    assert_eq!(
        hits4.load(Ordering::SeqCst),
        0,
        "a request reached 127.0.0.1"
    );
    assert_eq!(hits6.load(Ordering::SeqCst), 0, "a request reached [::1]");
    eprintln!("ssrf: {refused} feed URLs refused, 0 requests reached the servers");

    // Pages: the extract command fetches through the same guarded fetcher.
    for u in urls(p4, p6).iter().chain(
        UNREACHABLE
            .iter()
            .map(|s| (*s).to_string())
            .collect::<Vec<_>>()
            .iter(),
    ) {
        let out = wirewatch(&["extract", "-c", env.config_str(), u]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{u}: extract must fail");
        assert!(
            err.contains("not a public address") || err.contains("non-public"),
            "{u}: {err}"
        );
    }
    assert_eq!(
        hits4.load(Ordering::SeqCst),
        0,
        "a page request reached 127.0.0.1"
    );
    assert_eq!(
        hits6.load(Ordering::SeqCst),
        0,
        "a page request reached [::1]"
    );

    // The same loopback URLs work when private networks are allowed: the servers were there.
    let text = std::fs::read_to_string(&env.config).expect("read").replace(
        "allow_private_networks = false",
        "allow_private_networks = true",
    );
    std::fs::write(&env.config, text).expect("write");
    once(&env);
    assert!(
        hits4.load(Ordering::SeqCst) > 0,
        "127.0.0.1 server reachable"
    );
    if p6 != 0 {
        assert!(hits6.load(Ordering::SeqCst) > 0, "[::1] server reachable");
    }
}
