//! wirewatch: a self-hosted news-monitoring daemon.
//!
//! It polls feeds, fetches each new entry's article and reduces it to the article's own text,
//! drops copies of the seed articles and of what it has already seen, judges relevance to the
//! topic, groups relevant items into stories, and alerts.
//!
//! The library is the pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! fetch → parse → extract → judge (dedup, relevance, stories) → notify (outbox, digest)
//! ```
//!
//! [`pipeline`] wires the stages together; [`store`] is everything remembered, behind one
//! interface; [`daemon`] is the scheduling shell around the pipeline and [`cli`] the command
//! line, with [`control`] carrying commands to a running daemon. Helpers shared by stages
//! live in [`text`] (tokens, charsets) and [`backoff`].

// The module docs teach the internals to whoever changes them, and link to private items:
// they are read with `cargo doc --document-private-items`, where those links resolve.
#![allow(rustdoc::private_intra_doc_links)]

pub mod backoff;
pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod demo;
pub mod extract;
pub mod fetch;
pub mod http;
pub mod judge;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod opml;
pub mod parse;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod store;
pub mod text;

// The judge's stages, also at the top: `wirewatch::dedup::url::canonicalize` and the like are
// the crate's public paths.
pub use judge::{dedup, relevance, stories};

pub use config::Config;
pub use pipeline::{CycleReport, Pipeline};
pub use store::Store;
