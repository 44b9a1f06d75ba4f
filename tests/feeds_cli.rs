//! `wirewatch feeds add` and `feeds test`, through the real binary against sites on loopback:
//! a site that announces its feed with `<link rel="alternate">`, one that serves it at a usual
//! path only, and one with none.

mod common;

use axum::extract::Path as UrlPath;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use common::*;

fn rss(base: &str) -> String {
    let items: String = ["harbour", "tram"]
        .iter()
        .map(|s| {
            format!(
                "<item><title>Story {s}</title><link>{base}/post/{s}</link><guid>{s}</guid>\
                 <description>The {s} story, in short.</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>The Harbour Post</title>\
         <link>{base}/</link><description>d</description>{items}</channel></rss>"
    )
}

/// A site on loopback: `/` announces `/posts.rss` when `announce`, else the feed is only at
/// `/rss.xml`; `/post/{slug}` are its articles.
fn site(announce: bool) -> String {
    let cell: std::sync::Arc<std::sync::OnceLock<String>> = Default::default();
    let (c1, c2) = (cell.clone(), cell.clone());
    let feed_path = if announce { "/posts.rss" } else { "/rss.xml" };
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || async move {
                let link = if announce {
                    "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Posts\" href=\"/posts.rss\">"
                } else {
                    ""
                };
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    format!("<html><head><title>Home</title>{link}</head><body><p>Welcome.</p></body></html>"),
                )
            }),
        )
        .route(
            feed_path,
            axum::routing::get(move || async move {
                let base = c1.get().cloned().unwrap_or_default();
                ([(header::CONTENT_TYPE, "application/rss+xml")], rss(&base))
            }),
        )
        .route(
            "/post/{slug}",
            axum::routing::get(move |UrlPath(slug): UrlPath<String>| async move {
                let _ = &c2;
                let p = format!(
                    "<p>The {slug} report: the city council voted on Tuesday to rebuild the old \
                     line by 2030, the mayor said, after years of debate over its cost.</p>"
                );
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    format!(
                        "<html><body><article><h1>Story {slug}</h1>{}</article></body></html>",
                        p.repeat(5)
                    ),
                )
                    .into_response()
            }),
        )
        .fallback(|| async { StatusCode::NOT_FOUND });
    let base = format!("http://{}", serve(app));
    let _ = cell.set(base.clone());
    base
}

#[test]
fn feeds_add_discovers_and_feeds_test_stores_nothing() {
    let announced = site(true);
    let usual = site(false);
    let env = TestEnv::new("", "");
    let cfg = env.config_str();

    let out = wirewatch_ok(&["feeds", "add", &format!("{announced}/"), "-c", cfg]);
    assert!(out.contains("1 feed added"), "{out}");
    let out = wirewatch_ok(&["feeds", "add", &format!("{usual}/"), "-c", cfg]);
    assert!(out.contains(&format!("found    {usual}/rss.xml")), "{out}");
    // A feed URL itself; already there.
    let out = wirewatch_ok(&["feeds", "add", &format!("{announced}/posts.rss"), "-c", cfg]);
    assert!(
        out.contains("0 feeds added") && out.contains("present"),
        "{out}"
    );
    let text = std::fs::read_to_string(&env.config).expect("config");
    assert!(
        text.contains(&format!("url = \"{announced}/posts.rss\"")),
        "{text}"
    );
    assert!(
        text.contains(&format!("url = \"{usual}/rss.xml\"")),
        "{text}"
    );
    assert!(text.contains("name = \"The Harbour Post\""), "{text}");
    let check = wirewatch(&["check", "-c", cfg]);
    assert!(check.status.success(), "the config still loads");

    // Nothing to be found: a clear error, the config unchanged.
    let out = wirewatch(&[
        "feeds",
        "add",
        &format!("{announced}/post/harbour"),
        "-c",
        cfg,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no feed was found"), "{err}");
    assert_eq!(std::fs::read_to_string(&env.config).expect("config"), text);

    // `feeds test`: each entry with its URL, text, language and decision; nothing stored.
    let out = wirewatch_ok(&[
        "feeds",
        "test",
        &format!("{announced}/posts.rss"),
        "-c",
        cfg,
    ]);
    for slug in ["harbour", "tram"] {
        assert!(
            out.contains(&format!("url:        {announced}/post/{slug}")),
            "{out}"
        );
    }
    assert!(out.contains("words from Page"), "{out}");
    assert!(out.contains("language:   en"), "{out}");
    assert!(out.contains("off-topic (score"), "{out}");
    assert!(
        !env.db_path().exists(),
        "the configured store is not created"
    );
}

/// `feeds add` on a config reached through a symlink writes the file the link points to and
/// keeps the link; the new file keeps the old one's mode and, when root writes it, its owner
/// and group (the service user must still read it at the next reload). The tmp file and the
/// rename used to replace the link by a plain file owned by the writer.
#[test]
fn feeds_add_keeps_a_symlinked_configs_link_owner_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let announced = site(true);
    let env = TestEnv::new("", "");
    let real_dir = env.dir.path().join("config-repo");
    std::fs::create_dir(&real_dir).expect("dir");
    let real = real_dir.join("wirewatch.toml");
    std::fs::rename(&env.config, &real).expect("move");
    std::os::unix::fs::symlink(&real, &env.config).expect("symlink");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if root {
        // As if the service user owned it: nobody's uid and gid.
        std::os::unix::fs::chown(&real, Some(65534), Some(65534)).expect("chown");
    } else {
        eprintln!("owner not checked: changing a file's owner needs root");
    }
    let out = wirewatch_ok(&[
        "feeds",
        "add",
        &format!("{announced}/"),
        "-c",
        env.config_str(),
    ]);
    assert!(out.contains("1 feed added"), "{out}");
    let link = std::fs::symlink_metadata(&env.config).expect("link");
    assert!(link.file_type().is_symlink(), "the link was replaced");
    let text = std::fs::read_to_string(&real).expect("config");
    assert!(text.contains(&format!("{announced}/posts.rss")), "{text}");
    let meta = std::fs::metadata(&real).expect("meta");
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    if root {
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "owner kept");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&real_dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}
