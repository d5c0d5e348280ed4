//! Sans-IO FTP: the protocol without the sockets.
//!
//! This crate turns the bytes of an FTP control connection into typed values and back,
//! converts TYPE A data, parses directory listings and (in later modules) runs the client
//! and server session state machines. Its contract:
//!
//! - **No I/O.** Nothing here opens a socket, reads a file or spawns a task. Callers feed
//!   bytes in and take bytes out; runtime adapters (`ftp-client`, `ftp-server`) move them.
//! - **No clock.** Where time matters it is an argument (`now: Instant`); the crate never
//!   reads a clock.
//! - **No panics on peer input.** Every decoder returns a typed error for bad bytes.
//! - **Bounded memory.** Every buffer has a cap (line length, reply line count), so a hostile
//!   peer cannot grow memory without limit.
//! - **Paths are bytes.** FTP paths need not be UTF-8; nothing here decodes them lossily.
//!
//! # Modules
//!
//! | module | what it does | RFC |
//! |---|---|---|
//! | [`client`] | the client session state machine | 959, 1123, 2389, 2428, 3659 |
//! | [`mod@line`] | control-connection line framing: CRLF / bare LF, length cap, Telnet IAC | 959 §4.1, 854, 2640 |
//! | [`command`] | every FTP command, typed, parsed and encoded | 959, 775, 1639, 2228, 2389, 2428, 2640, 3659, 7151 |
//! | [`reply`] | reply codes, incremental reply decoder, reply encoder | 959 §4.2, 2228 |
//! | [`address`] | PORT/PASV, EPRT/EPSV, LPRT/LPSV host-port encodings | 959, 1123, 1639, 2428 |
//! | [`ascii`] | streaming TYPE A line-ending conversion | 959 §3.1.1 |
//! | [`listing`] | LIST (Unix, DOS) and MLSD/MLST parsing and formatting | 959, 3659 |
//! | [`path`] | virtual path normalisation (bytes, `..` clamped at the root) | 959 §3.2, 2640 |
//! | [`server`] | the server session state machine | 959, 1123, 2389, 2428, 2577, 3659, 7151 |
//! | [`time`] | `YYYYMMDDHHMMSS[.sss]` timestamps (MDTM, MFMT, MLSD `modify`) | 3659 §2.3 |
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod address;
pub mod ascii;
pub mod client;
pub mod command;
pub mod line;
pub mod listing;
pub mod path;
pub mod reply;
pub mod server;
pub mod time;
