//! The FTP server adapter: runs the sans-IO protocol core of `ftp-proto` on an async runtime.
//!
//! This crate holds the parts of a server that touch the outside world; every protocol decision
//! (which reply, which data connection is allowed, what a timeout means) is taken by
//! [`ftp_proto::server::ServerSession`], one per control connection.
//!
//! - [`Server`]: a builder (listen addresses, passive port range and public address, limits,
//!   timeouts), the accept loop with connection caps (`421` at accept), graceful shutdown.
//! - [`runtime`]: the few operations a runtime supplies (TCP, a timer, spawning), implemented for
//!   tokio and async-std; sessions and transfers are written once against it.
//! - [`storage`]: where files live. The [`Storage`](storage::Storage) trait is async and
//!   streaming (no file is ever held whole in memory, offsets are `u64`), and it comes with two
//!   implementations: [`FsStorage`](storage::FsStorage), a directory on disk with every path
//!   jailed under it, and [`MemoryStorage`](storage::MemoryStorage), an in-memory tree with an
//!   optional quota.
//! - [`auth`]: who may log in. [`UserTable`](auth::UserTable) keeps salted PBKDF2 hashes,
//!   [`Anonymous`](auth::Anonymous) is the opt-in anonymous login.
//! - [`limits`]: how many connections are accepted, in total and per client address.
//!
//! Storage and authentication are runtime-agnostic: they use the `futures-io` traits and run
//! blocking `std::fs` calls and password hashing on the thread pool of the `blocking` crate,
//! which works under tokio, async-std and smol alike.
//!
//! # Features
//!
//! | feature | default | brings |
//! |---|---|---|
//! | `tokio` | yes | the tokio runtime adapter |
//! | `async-std` | no | the async-std runtime adapter (smol users need no feature: `futures-io` is enough) |
//! | `rustls` | no | FTPS: explicit `AUTH TLS` and implicit TLS listeners ([`tls`]) |
//!
//! # Platform
//!
//! [`FsStorage`](storage::FsStorage) is Unix-only: file names are bytes
//! (`std::os::unix::ffi::OsStrExt`) and permissions are Unix mode bits.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
mod connection;
mod convert;
pub mod limits;
pub mod runtime;
mod server;
pub mod storage;
mod stream;
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub mod tls;
mod transfer;

pub use ftp_proto;
pub use ftp_proto::server::{ServerConfig, TlsPolicy};
pub use server::{Bound, Server, ServerBuilder, SiteHandler};
