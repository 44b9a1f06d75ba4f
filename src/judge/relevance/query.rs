//! The optional boolean topic query from config, e.g.
//! `(microsoft OR azure) AND openai AND (amazon OR aws OR frontier)`.
//!
//! Grammar (operators case-sensitive in upper case, `&&`/`||`/`!`/`-` accepted too; terms
//! case-insensitive; adjacent terms without an operator are ANDed):
//!
//! ```text
//! or    := and ( ("OR" | "||") and )*
//! and   := unary ( ("AND" | "&&")? unary )*
//! unary := ("NOT" | "!" | "-") unary | atom
//! atom  := "(" or ")" | "\"" phrase "\"" | word
//! ```
//!
//! A word or phrase is normalised with the same tokeniser as article text, so `"OpenAI's"`
//! matches `openai`, and `third-party` is the phrase `third party`. A term matches when its
//! token sequence occurs contiguously in the title or text. Hand-written: the grammar is tiny
//! and a parser dependency would be heavier than the code.

use serde::{Deserialize, Serialize};

use crate::text::tokens;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// A word or phrase (one or more normalised tokens).
    Term(Vec<String>),
    /// All must match.
    And(Vec<Query>),
    /// Any must match.
    Or(Vec<Query>),
    /// Must not match.
    Not(Box<Query>),
}

/// A query syntax error with its character position (0-based) in the query string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query syntax error at character {pos}: {msg}")]
pub struct QueryError {
    /// 0-based character offset of the problem.
    pub pos: usize,
    /// What was expected or found.
    pub msg: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Word(String),
    Phrase(String),
}

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, QueryError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            '(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            '!' => {
                out.push((start, Tok::Not));
                i += 1;
            }
            '-' if i + 1 < chars.len() && !chars[i + 1].is_whitespace() => {
                out.push((start, Tok::Not));
                i += 1;
            }
            '&' | '|' => {
                if chars.get(i + 1) == Some(&c) {
                    out.push((start, if c == '&' { Tok::And } else { Tok::Or }));
                    i += 2;
                } else {
                    return Err(QueryError {
                        pos: start,
                        msg: format!("single '{c}' (use {c}{c} or AND/OR)"),
                    });
                }
            }
            '"' | '\u{201C}' | '\u{201D}' => {
                i += 1;
                let mut p = String::new();
                while i < chars.len() && !matches!(chars[i], '"' | '\u{201C}' | '\u{201D}') {
                    p.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(QueryError {
                        pos: start,
                        msg: "unterminated phrase (missing closing quote)".into(),
                    });
                }
                i += 1;
                out.push((start, Tok::Phrase(p)));
            }
            _ => {
                let mut w = String::new();
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '"')
                {
                    w.push(chars[i]);
                    i += 1;
                }
                let t = match w.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => Tok::Word(w),
                };
                out.push((start, t));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|(p, _)| *p).unwrap_or(self.end)
    }
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, QueryError> {
        Err(QueryError {
            pos: self.pos(),
            msg: msg.into(),
        })
    }
    fn or(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::Or(parts)
        })
    }
    fn and(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.i += 1;
                    parts.push(self.unary()?);
                }
                Some(Tok::Word(_) | Tok::Phrase(_) | Tok::LParen | Tok::Not) => {
                    parts.push(self.unary()?);
                }
                _ => break,
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::And(parts)
        })
    }
    fn unary(&mut self) -> Result<Query, QueryError> {
        if self.peek() == Some(&Tok::Not) {
            self.i += 1;
            return Ok(Query::Not(Box::new(self.unary()?)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<Query, QueryError> {
        let pos = self.pos();
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.i += 1;
                let q = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.err(format!("expected ')' to close '(' at character {pos}"));
                }
                self.i += 1;
                Ok(q)
            }
            Some(Tok::Word(w)) | Some(Tok::Phrase(w)) => {
                self.i += 1;
                let t = tokens(&w);
                if t.is_empty() {
                    return Err(QueryError {
                        pos,
                        msg: format!("term {w:?} has no letters or digits"),
                    });
                }
                Ok(Query::Term(t))
            }
            Some(Tok::RParen) => self.err("unexpected ')'"),
            Some(Tok::And) | Some(Tok::Or) => self.err("operator without a left-hand term"),
            Some(Tok::Not) => self.err("unexpected NOT"),
            None => self.err("unexpected end of query (a term is missing)"),
        }
    }
}

impl Query {
    /// Parses a query string.
    pub fn parse(s: &str) -> Result<Query, QueryError> {
        let toks = lex(s)?;
        let mut p = Parser {
            toks,
            i: 0,
            end: s.chars().count(),
        };
        if p.toks.is_empty() {
            return p.err("empty query");
        }
        let q = p.or()?;
        if p.i < p.toks.len() {
            return p.err("unexpected token after a complete query (unbalanced ')'?)");
        }
        Ok(q)
    }

    /// Evaluates the query on normalised tokens (title and text concatenated, or checked
    /// separately by the caller).
    pub fn matches(&self, toks: &[String]) -> bool {
        match self {
            Query::Term(t) => contains_seq(toks, t),
            Query::And(qs) => qs.iter().all(|q| q.matches(toks)),
            Query::Or(qs) => qs.iter().any(|q| q.matches(toks)),
            Query::Not(q) => !q.matches(toks),
        }
    }
}

fn contains_seq(hay: &[String], needle: &[String]) -> bool {
    if needle.is_empty() || needle.len() > hay.len() {
        return false;
    }
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(q: &str, text: &str) -> bool {
        match Query::parse(q) {
            Ok(q) => q.matches(&tokens(text)),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn evaluates() {
        let q = "(microsoft OR azure) AND openai AND (amazon OR aws OR frontier)";
        assert!(m(q, "Microsoft weighs action against OpenAI over AWS deal"));
        assert!(!m(q, "Microsoft and OpenAI face Musk at trial"));
        assert!(m(
            "\"stateful runtime\" -nuclear",
            "a stateful runtime environment"
        ));
        assert!(!m("\"stateful runtime\"", "runtime that is stateful"));
        assert!(m("openai NOT (xbox OR nhl)", "OpenAI's Frontier"));
        assert!(m("third-party && cloud", "the exclusive third party cloud"));
        assert!(m("a || b", "b"));
    }

    #[test]
    fn errors_name_position() {
        let e = Query::parse("(microsoft OR azure AND openai").err();
        assert_eq!(e.map(|e| e.pos), Some(30));
        let e = Query::parse("microsoft OR OR azure").err();
        assert_eq!(e.map(|e| e.pos), Some(13));
        let e = Query::parse("openai \"stateful runtime").err();
        assert_eq!(e.map(|e| e.pos), Some(7));
        assert!(Query::parse("").is_err());
        assert_eq!(Query::parse("a ) b").err().map(|e| e.pos), Some(2));
        assert_eq!(Query::parse("a & b").err().map(|e| e.pos), Some(2));
    }
}
