//! An FTP client: runtime adapters around the sans-IO protocol core of `ftp-proto`.
//!
//! Every protocol decision (which command next, how to read a `227`, what a `4yz` means) is
//! taken once, in `ftp-proto`; this crate moves its bytes over sockets and adds what a user of
//! FTP needs around it:
//!
//! - [`url`]: `ftp://` and `ftps://` URLs ([`FtpUrl`]), with percent-decoded credentials and
//!   byte paths (FTP paths need not be UTF-8), IPv6 literals and RFC 1738 `;type=` codes.
//! - [`glob`]: `*`, `?` and `[...]` matching over bytes, for downloading the files of a
//!   directory that match a pattern.
//! - [`Error`]: one error type for every operation, which separates I/O failures, protocol
//!   violations, server refusals (`550 No such file`), timeouts and caller mistakes.
//! - `tls` (feature `rustls`): FTPS, RFC 4217. Explicit (`AUTH TLS` before `USER`, so a
//!   password never crosses in cleartext when TLS was asked for) and implicit (`ftps://`)
//!   TLS, certificates verified against the system's or the webpki roots or a given CA file,
//!   protected data connections (`PROT P`) that resume the control connection's TLS session.
//!
//! # Features
//!
//! | feature | default | brings |
//! |---|---|---|
//! | *(none)* | — | the blocking client over `std::net` |
//! | `tokio` | no | the tokio adapter |
//! | `async-std` | no | the futures-io adapter on async-std (smol works with the futures-io adapter) |
//! | `rustls` | no | FTPS for every adapter: `tls::Tls` and `Config::tls`, with rustls (ring provider), TLS 1.2 and 1.3 |
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod blocking;
mod engine;
mod error;
pub mod glob;
#[cfg(any(feature = "tokio", feature = "async-std"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "tokio", feature = "async-std"))))]
pub mod nonblocking;
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub mod tls;
pub mod url;

pub use engine::{Config, DataMode, Listing, TransferType};
/// When TLS starts on the control connection (RFC 4217); see [`Config::session`].
pub use ftp_proto::client::TlsMode;

pub use error::{Error, ProtocolError, Result};
pub use ftp_proto;
pub use url::{FtpUrl, Scheme, TypeCode, UrlError};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
