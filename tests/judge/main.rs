//! The judging stages (dedup, relevance, stories) on the scenario's labelled dev data: the
//! articles as written (`scenario/dev/src`), the seeds, and the labels' clean bodies.

mod common;
mod dedup_dev;
mod relevance_dev;
mod relevance_pages;
mod stories_dev;
mod url_dev;
