//! Text helpers shared by the stages: turning fetched bytes into text ([`charset`], used by
//! parse and extract) and text into normalised tokens ([`tokens()`], used by dedup, relevance and
//! stories). They live here, not in one stage, so that every stage that needs them calls the
//! same code and a change to either is made once.

pub mod charset;
pub mod lang;
pub mod tokens;

pub use tokens::{fold_char, for_each_token, hash64, mix64, tokens};
