//! SSRF: with `allow_private_networks = false` (the default) nothing on loopback, private,
//! link-local (cloud metadata), unique-local or unspecified addresses is fetched, whatever the
//! spelling of the address (decimal, octal, hex, short forms, IPv4-mapped IPv6) or a name
//! resolving to it, for feeds and for pages (`wirewatch extract URL` uses the fetcher the
//! pipeline uses for article pages). Real servers listen on the loopback addresses tried and
//! record every request: the test proves none reached them, and proves they were reachable by
//! running the same URLs with `allow_private_networks = true`.
//!
//! Redirects: a first hop the guard lets through (here a loopback server listed in
//! `allow_private_hosts`, standing in for a public server, which the offline test machine does
//! not have) that redirects to private addresses in several spellings: every redirect is
//! refused before a connection, and the same redirects are followed when private networks are
//! allowed (the targets were there).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;

/// A server counting its requests, answering a one-item feed (or a page) to anything.
fn counting_server(v6: bool) -> (u16, Arc<AtomicUsize>) {
    counting_server_on(if v6 { "[::1]:0" } else { "127.0.0.1:0" })
}

/// [`counting_server`] on a given address (port 0); port 0 in the result when it cannot bind.
fn counting_server_on(bind: &'static str) -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let h = h.clone();
        async move {
            h.fetch_add(1, Ordering::SeqCst);
            ([("content-type", "application/rss+xml")], rss("ssrf", 0, 1))
        }
    });
    match std::net::TcpListener::bind(bind) {
        Ok(l) => (serve_listener(l, app).port(), hits),
        Err(_) => (0, hits),
    }
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

#[test]
fn redirects_from_an_allowed_host_to_private_addresses_are_refused() {
    let (p_local, hits_local) = counting_server_on("127.0.0.1:0");
    let (p_two, hits_two) = counting_server_on("127.0.0.2:0");
    let (p6, hits6) = counting_server(true);
    assert!(p_two != 0, "cannot bind 127.0.0.2");
    let mut targets = vec![
        format!("http://localhost:{p_local}/page"),
        format!("http://127.0.0.2:{p_two}/page"),
        format!("http://0x7f000002:{p_two}/page?hex"),
        format!("http://2130706434:{p_two}/page?decimal"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.1/page".to_string(),
        "http://[fd00::1]/page".to_string(),
        "http://0.0.0.0/page".to_string(),
        // The allowed host itself, on another port than the one it is trusted on.
        format!("http://127.0.0.1:{p_local}/page?other-port"),
    ];
    if p6 != 0 {
        targets.push(format!("http://[::1]:{p6}/page"));
    }
    // The first hop: a feed whose items' pages redirect, one per target.
    let to = targets.clone();
    let n = targets.len();
    let app = axum::Router::new()
        .route(
            "/feed.xml",
            axum::routing::get(move || async move {
                let items: String = (0..n)
                    .map(|i| {
                        format!(
                            "<item><title>Item {i}</title><link>/go/{i}</link><guid>g{i}</guid></item>"
                        )
                    })
                    .collect();
                (
                    [("content-type", "application/rss+xml")],
                    format!("<rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>"),
                )
            }),
        )
        .route(
            "/go/{i}",
            axum::routing::get(move |axum::extract::Path(i): axum::extract::Path<usize>| {
                let to = to.clone();
                async move {
                    (
                        axum::http::StatusCode::FOUND,
                        [("location", to.get(i).cloned().unwrap_or_default())],
                    )
                }
            }),
        );
    let first = serve(app);
    let feed = format!("http://127.0.0.1:{}/feed.xml", first.port());
    let env = TestEnv::new(
        &format!("allow_private_hosts = [\"127.0.0.1:{}\"]", first.port()),
        &format!("[[feeds]]\nname = \"trusted\"\nurl = \"{feed}\"\n"),
    );
    let set_private = |allowed: bool| {
        let text = std::fs::read_to_string(&env.config).expect("read");
        let text = text.replace(
            &format!("allow_private_networks = {}", !allowed),
            &format!("allow_private_networks = {allowed}"),
        );
        std::fs::write(&env.config, text).expect("write");
    };
    set_private(false);
    let hits = || {
        hits_local.load(Ordering::SeqCst)
            + hits_two.load(Ordering::SeqCst)
            + hits6.load(Ordering::SeqCst)
    };

    // The listed host is fetched (the feed polls), its pages' redirects are not followed.
    let r = once(&env);
    let f = &r["feeds"][0];
    assert!(f["error"].is_null(), "the listed host must be fetched: {f}");
    assert_eq!(f["entries_new"], n, "{f}");
    for (i, target) in targets.iter().enumerate() {
        let go = format!("http://127.0.0.1:{}/go/{i}", first.port());
        let out = wirewatch(&["extract", "-c", env.config_str(), &go]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{target} must be refused");
        assert!(
            err.contains("not a public address")
                || err.contains("non-public")
                || err.contains("on port"),
            "{target}: {err}"
        );
    }
    assert_eq!(hits(), 0, "a redirect reached a private server");
    eprintln!("ssrf: {n} redirects from an allowed host to private addresses refused, 0 requests reached the servers");

    // Control: with private networks allowed the same redirects reach the servers.
    set_private(true);
    for (i, target) in targets.iter().enumerate().take(4) {
        let go = format!("http://127.0.0.1:{}/go/{i}", first.port());
        let out = wirewatch(&["extract", "-c", env.config_str(), &go]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{target}: {err}");
    }
    let reached = (
        hits_local.load(Ordering::SeqCst),
        hits_two.load(Ordering::SeqCst),
    );
    assert_eq!(reached, (1, 3), "(localhost, 127.0.0.2) targets reachable");
}

/// DNS rebinding: a name that resolved to a public address a moment ago and now resolves to
/// loopback (the attacker's DNS, here a lookup the test controls) is refused at connect time:
/// the guard checks the very addresses the connection uses. The loopback server behind it
/// is never reached.
#[tokio::test(flavor = "multi_thread")]
async fn a_name_rebinding_to_loopback_is_refused_at_connect_time() {
    let (port, hits) = counting_server(false);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let lookup: wirewatch::fetch::Lookup = Arc::new(move |host: String| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            assert_eq!(host, "rebind.example");
            // The first answer public (a documentation-free public address no test connects
            // to), every later one loopback.
            let ip: std::net::IpAddr = if n == 0 {
                std::net::Ipv4Addr::new(93, 184, 215, 14).into()
            } else {
                std::net::Ipv4Addr::LOCALHOST.into()
            };
            Ok(vec![std::net::SocketAddr::new(ip, 0)])
        })
    });
    let cfg = wirewatch::config::FetchConfig {
        timeout: wirewatch::config::Dur(std::time::Duration::from_secs(2)),
        ..Default::default()
    };
    let fetcher = wirewatch::fetch::Fetcher::with_lookup(&cfg, lookup.clone()).expect("fetcher");
    // A check before connecting would see a public address, and pass.
    let url = url::Url::parse(&format!("http://rebind.example:{port}/feed.xml")).expect("url");
    let before = lookup("rebind.example".into()).await.expect("lookup");
    assert!(before.iter().all(|a| wirewatch::fetch::is_public(a.ip())));
    assert!(wirewatch::fetch::check_url(&url, &wirewatch::fetch::Guard::new(false, &[])).is_ok());
    // Connecting: the name now answers loopback, and is refused.
    let err = fetcher
        .get(wirewatch::fetch::Request {
            url: &url,
            kind: wirewatch::fetch::Kind::Feed,
            etag: None,
            last_modified: None,
            form: None,
            validators_for: None,
        })
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("refusing rebind.example"), "{err}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the loopback server was reached"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "looked up before, and at connect time"
    );
}
