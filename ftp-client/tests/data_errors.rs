//! A data connection that cannot be made is reported as such: a failed passive connect names
//! the address it tried, and an active-mode wait that runs out says it was the data connection.
//!
//! The server is a scripted `std::net` responder on loopback: it answers the login, offers a
//! passive port where nothing listens, or accepts PORT and never connects.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use ftp_client::blocking::Client;
use ftp_client::ftp_proto::client::Timeout;
use ftp_client::{Config, DataMode, Error};

/// Serves one control connection: `229` names `epsv_port`; `PORT`/`EPRT` are accepted and
/// nothing ever connects; transfers get `150` and no data.
fn scripted_server(epsv_port: u16) -> (SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut reply = |text: &str| {
            let _ = out.write_all(format!("{text}\r\n").as_bytes());
        };
        reply("220 scripted");
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            match verb.as_str() {
                "USER" => reply("331 password"),
                "PASS" => reply("230 in"),
                "TYPE" | "PORT" | "EPRT" => reply("200 ok"),
                "EPSV" => reply(&format!(
                    "229 Entering Extended Passive Mode (|||{epsv_port}|)"
                )),
                "RETR" | "LIST" | "NLST" => reply("150 here it comes (it never does)"),
                "ABOR" => reply("226 aborted"),
                "QUIT" => {
                    reply("221 bye");
                    break;
                }
                _ => reply("502 not here"),
            }
        }
    });
    (addr, handle)
}

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(mode: DataMode, data_timeout: Duration) -> Config {
    let mut config = Config::default();
    config.data_mode = mode;
    config.connect_timeout = Duration::from_secs(5);
    config.session.reply_timeout = Duration::from_secs(10);
    config.session.data_timeout = data_timeout;
    config
}

#[test]
fn failed_passive_connect_names_the_data_address() {
    let port = closed_port();
    let (addr, server) = scripted_server(port);
    let mut client = Client::connect(
        addr,
        config(DataMode::ExtendedPassive, Duration::from_secs(5)),
    )
    .unwrap();
    client.login("u", "p").unwrap();
    let err = client.retrieve_to("f", 0, &mut io::sink()).unwrap_err();
    let Error::Io(io_err) = &err else {
        panic!("expected an I/O error, got {err:?}");
    };
    assert_eq!(io_err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("data connection to 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(err.is_transient());
    assert_eq!(err.exit_code(), 1);
    drop(client);
    server.join().unwrap();
}

#[test]
fn active_mode_wait_that_runs_out_names_the_data_connection() {
    let (addr, server) = scripted_server(closed_port());
    let mut client = Client::connect(
        addr,
        config(DataMode::Active { bind: None }, Duration::from_millis(300)),
    )
    .unwrap();
    client.login("u", "p").unwrap();
    let started = Instant::now();
    let err = client.retrieve_to("f", 0, &mut io::sink()).unwrap_err();
    assert!(
        matches!(err, Error::Timeout(Timeout::DataConnect)),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "timed out waiting for the data connection");
    assert_eq!(err.exit_code(), 3);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(client);
    server.join().unwrap();
}
