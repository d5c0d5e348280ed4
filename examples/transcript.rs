//! Decodes an FTP control-connection transcript and explains it.
//!
//! The input is what `ftp -d` prints: commands the client sent prefixed `---> `, the server's
//! replies as they came (multi-line ones included), and the client's own chatter. Each command
//! and reply is decoded with `ftp-proto`; addresses are spelled out (PORT → IP and port).
//!
//! ```sh
//! cargo run --example transcript -- examples/data/session.txt
//! cargo run --example transcript < session.txt
//! ```

use std::io::{self, Read, Write};
use std::process::ExitCode;

use bytes::BytesMut;
use ftp_proto::address;
use ftp_proto::command::Command;
use ftp_proto::reply::{parse_quoted_path, Reply, ReplyCode, ReplyDecoder};

fn main() -> ExitCode {
    let mut input = Vec::new();
    let read = match std::env::args_os().nth(1) {
        Some(path) => std::fs::read(&path).map(|b| input = b),
        None => io::stdin().read_to_end(&mut input).map(|_| ()),
    };
    if let Err(e) = read {
        eprintln!("transcript: cannot read input: {e}");
        return ExitCode::FAILURE;
    }
    let mut out = io::stdout().lock();
    match explain(&input, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("transcript: {e}");
            ExitCode::FAILURE
        }
    }
}

fn explain(input: &[u8], out: &mut impl Write) -> io::Result<()> {
    let mut replies = ReplyDecoder::new();
    let mut pending = BytesMut::new();
    for raw in input.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if let Some(cmd) = line.strip_prefix(b"---> ") {
            explain_command(cmd, out)?;
            continue;
        }
        // A reply starts with three digits; once started, every line belongs to it until the
        // decoder says it is complete (interior lines may look like anything).
        let starts_reply = line.len() >= 3 && line.iter().take(3).all(u8::is_ascii_digit);
        if !(replies.in_reply() || starts_reply) {
            if !line.is_empty() {
                writeln!(out, "   | {}", Show(line))?;
            }
            continue;
        }
        pending.extend_from_slice(line);
        pending.extend_from_slice(b"\r\n");
        match replies.decode(&mut pending) {
            Ok(Some(reply)) => explain_reply(&reply, out)?,
            Ok(None) => {}
            Err(e) => {
                writeln!(out, "S: !! {e}: {}", Show(line))?;
                replies.reset();
                pending.clear();
            }
        }
    }
    if replies.in_reply() {
        writeln!(out, "S: !! transcript ends inside a multi-line reply")?;
    }
    Ok(())
}

/// Shows bytes for a human: UTF-8 as is, control and invalid bytes escaped (display only;
/// the bytes themselves are never altered).
struct Show<'a>(&'a [u8]);

impl std::fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    write!(f, "{c}")?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

fn explain_command(line: &[u8], out: &mut impl Write) -> io::Result<()> {
    let cmd = match Command::parse(line) {
        Ok(cmd) => cmd,
        Err(e) => {
            return writeln!(
                out,
                "C: {}  !! {e} (a server answers {})",
                Show(line),
                e.reply_code()
            )
        }
    };
    write!(out, "C: {cmd}")?;
    match &cmd {
        Command::Port(addr) => write!(
            out,
            "  → connect back to {} port {} ({}*256+{})",
            addr.ip(),
            addr.port(),
            addr.port() >> 8,
            addr.port() & 0xff
        )?,
        Command::Eprt(addr) | Command::Lprt(addr) => write!(
            out,
            "  → connect back to {} port {}",
            addr.ip(),
            addr.port()
        )?,
        Command::Pasv | Command::Epsv(_) | Command::Lpsv => {
            write!(out, "  → server, open a port and tell me where")?
        }
        Command::Type(t) => write!(out, "  → transfer type {t:?}")?,
        Command::Other { .. } => write!(out, "  → not a standard verb")?,
        _ => {}
    }
    writeln!(out)
}

fn explain_reply(reply: &Reply, out: &mut impl Write) -> io::Result<()> {
    let code = reply.code;
    write!(
        out,
        "S: {code} [{:?}, {:?}] {}",
        code.class(),
        code.category(),
        Show(reply.text())
    )?;
    if reply.is_multiline() {
        write!(out, "  ({} lines)", reply.lines.len())?;
    }
    let text = reply.text();
    match code {
        ReplyCode::ENTERING_PASSIVE_MODE => match address::parse_pasv_reply(text) {
            Ok(a) => write!(out, "  → data connection to {} port {}", a.ip(), a.port())?,
            Err(e) => write!(out, "  !! {e}")?,
        },
        ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE => match address::parse_epsv_reply(text) {
            Ok(port) => write!(
                out,
                "  → data connection to the server's address, port {port}"
            )?,
            Err(e) => write!(out, "  !! {e}")?,
        },
        ReplyCode::ENTERING_LONG_PASSIVE_MODE => match address::parse_lpsv_reply(text) {
            Ok(a) => write!(out, "  → data connection to {} port {}", a.ip(), a.port())?,
            Err(e) => write!(out, "  !! {e}")?,
        },
        ReplyCode::PATHNAME_CREATED => {
            if let Some(path) = parse_quoted_path(text) {
                write!(out, "  → path {}", Show(&path))?
            }
        }
        _ => {}
    }
    writeln!(out)?;
    for interior in reply.iter_lines().skip(1) {
        writeln!(out, "   {}", Show(interior))?;
    }
    Ok(())
}
