//! Tests of the notify stage with real parts: payloads of every webhook
//! format (hostile text included), signatures, delivery against a real HTTP
//! server on loopback, digest rendering on the scenario's labelled articles,
//! the DST-correct schedule, and mail through a real SMTP server (aiosmtpd,
//! `pip install aiosmtpd`) on loopback.

mod common;
mod digest;
mod schedule;
mod smtp;
mod webhook_post;
mod webhook_render;
