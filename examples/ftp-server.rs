//! A ready-to-run FTP server over a directory.
//!
//! ```sh
//! cargo run --release --example ftp-server -- --root /srv/ftp --user anna:secret
//! ```
//!
//! With neither `--user` nor `--anonymous` it creates the user `ftp` with a random password
//! and prints it: it never opens an unauthenticated server by default. `--anonymous` allows
//! read-only anonymous logins. Ctrl-C shuts down gracefully: no new connections, running
//! transfers may finish.
//!
//! FTPS: `--tls-cert cert.pem --tls-key key.pem` offers `AUTH TLS`; `--require-tls` refuses
//! cleartext logins and data connections; `--implicit-tls 0.0.0.0:990` adds an implicit-TLS
//! listener.

use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ftp_server::auth::{Anonymous, Or, UserTable};
use ftp_server::runtime::TokioRuntime;
use ftp_server::storage::FsStorage;
use ftp_server::tls::TlsConfig;
use ftp_server::{Server, TlsPolicy};
use tracing_subscriber::EnvFilter;

/// Serve a directory over FTP.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The directory to serve (default: the current directory).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Listen on this address (repeat for several; IPv4 and IPv6).
    #[arg(long = "listen", default_value = "127.0.0.1:2121")]
    listen: Vec<SocketAddr>,
    /// A read-write user NAME:PASSWORD (repeatable).
    #[arg(long = "user", value_parser = parse_user)]
    users: Vec<(String, String)>,
    /// Allow read-only anonymous logins (user `anonymous` or `ftp`, any password).
    #[arg(long)]
    anonymous: bool,
    /// Passive data ports, FROM-TO (open exactly this range in a firewall).
    #[arg(long, value_parser = parse_range)]
    passive_ports: Option<RangeInclusive<u16>>,
    /// The IPv4 address to announce in PASV replies (the public address behind NAT).
    #[arg(long)]
    passive_address: Option<Ipv4Addr>,
    /// Refuse active mode (PORT/EPRT/LPRT).
    #[arg(long)]
    no_active: bool,
    /// The most simultaneous connections.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// The most simultaneous connections from one IP address.
    #[arg(long, default_value_t = 32)]
    max_per_ip: usize,
    /// Close control connections idle this many seconds.
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
    /// Do not fsync uploads before committing them (faster, as most FTP servers do; after a
    /// power loss a just-uploaded file may be incomplete).
    #[arg(long)]
    no_sync: bool,
    /// Offer FTPS (AUTH TLS) with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require TLS for logins and data connections (data connections must also resume the
    /// control connection's TLS session).
    #[arg(long, requires = "tls_cert")]
    require_tls: bool,
    /// Also listen here for implicit FTPS (TLS from the first byte, `ftps://`; repeatable).
    #[arg(long, value_name = "ADDR", requires = "tls_cert")]
    implicit_tls: Vec<SocketAddr>,
    /// Log level (error, warn, info, debug, trace) or a RUST_LOG-style filter; RUST_LOG wins.
    #[arg(long, default_value = "info")]
    log: String,
}

fn parse_user(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, pass)) if !name.is_empty() => Ok((name.to_owned(), pass.to_owned())),
        _ => Err("expected NAME:PASSWORD".to_owned()),
    }
}

fn parse_range(s: &str) -> Result<RangeInclusive<u16>, String> {
    let (a, b) = s
        .split_once('-')
        .ok_or("expected FROM-TO, e.g. 50000-50100")?;
    let a: u16 = a.trim().parse().map_err(|_| format!("bad port {a:?}"))?;
    let b: u16 = b.trim().parse().map_err(|_| format!("bad port {b:?}"))?;
    if a == 0 || a > b {
        return Err(format!("empty or invalid range {a}-{b}"));
    }
    Ok(a..=b)
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&args.log))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal, not in log files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ftp-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let storage = FsStorage::new(&args.root)
        .map_err(|e| format!("cannot serve {}: {e}", args.root.display()))?
        .with_sync_uploads(!args.no_sync);

    let mut users = UserTable::new();
    for (name, pass) in &args.users {
        users
            .add_user(name.clone(), pass.as_bytes())
            .set_writable(true);
    }
    if args.users.is_empty() && !args.anonymous {
        let password = random_password();
        users
            .add_user("ftp", password.as_bytes())
            .set_writable(true);
        eprintln!("ftp-server: no --user given; created user `ftp` with password `{password}`");
    }
    let anonymous = args.anonymous.then(Anonymous::new);
    // Anonymous first: its answer is immediate, while the user table spends a full password
    // hash on every name it does not know (so unknown names take as long as wrong passwords).
    let auth = Or::new(OptionalAnonymous(anonymous), users);

    let mut builder = Server::builder(storage, auth)
        .max_connections(args.max_connections)
        .max_per_ip(args.max_per_ip)
        .idle_timeout(Duration::from_secs(args.idle_timeout))
        .allow_active(!args.no_active);
    for addr in &args.listen {
        builder = builder.listen(*addr);
    }
    if let Some(range) = args.passive_ports.clone() {
        builder = builder.passive_ports(range);
    }
    if let Some(ip) = args.passive_address {
        builder = builder.passive_address(ip);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let tls = TlsConfig::from_pem_files(cert, key).map_err(|e| e.to_string())?;
        builder = builder.tls(tls).tls_policy(if args.require_tls {
            TlsPolicy::Required
        } else {
            TlsPolicy::Optional
        });
        for addr in &args.implicit_tls {
            builder = builder.listen_implicit_tls(*addr);
        }
    }
    let bound = builder
        .build()
        .bind(TokioRuntime)
        .await
        .map_err(|e| e.to_string())?;
    let mut addrs: Vec<String> = bound.local_addrs().iter().map(|a| a.to_string()).collect();
    addrs.extend(
        bound
            .implicit_tls_addrs()
            .iter()
            .map(|a| format!("{a} (implicit TLS)")),
    );
    eprintln!(
        "ftp-server: ready: serving {} on {}",
        args.root.display(),
        addrs.join(", ")
    );
    bound
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("ftp-server: shutting down");
        })
        .await
        .map_err(|e| e.to_string())
}

/// Anonymous access when enabled, otherwise nobody.
struct OptionalAnonymous(Option<Anonymous>);

impl ftp_server::auth::Authenticator for OptionalAnonymous {
    async fn authenticate(
        &self,
        user: &[u8],
        password: &[u8],
    ) -> Result<ftp_server::auth::Account, ftp_server::auth::AuthError> {
        match &self.0 {
            Some(anon) => anon.authenticate(user, password).await,
            None => Err(ftp_server::auth::AuthError::Rejected),
        }
    }
}
