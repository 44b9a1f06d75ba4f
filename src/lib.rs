//! wirewatch: a self-hosted news-monitoring daemon.
//!
//! It polls feeds, fetches each new entry's article and reduces it to the article's own text,
//! drops copies of the seed articles and of what it has already seen, judges relevance to one
//! topic, groups relevant items into stories, and alerts.
//!
//! The library is the pipeline, one module per stage, data flowing one way:
//! [`fetch`] → [`parse`] → (extract → dedup → relevance → stories → outbox → notify), with
//! [`store`] the only module that touches sled, [`pipeline`] wiring the stages together, and
//! [`daemon`] the scheduling shell around it. `main.rs` is a thin CLI over this crate.

pub mod backoff;
pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dedup;
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
pub mod relevance;
pub mod report;
pub mod store;
pub mod stories;
pub mod text;

pub use config::Config;
pub use pipeline::{CycleReport, Pipeline};
pub use store::Store;
