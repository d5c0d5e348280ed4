//! Drives `ftp_proto::client::ClientSession` by hand over plain `std::net` sockets: the
//! skeleton of a new runtime adapter, in one loop.
//!
//! **Passive mode only** (`EPSV`; `DataMode::Passive` would send `PASV`): no active mode
//! (`ListenData` is not handled) and no TLS. Data sockets are read synchronously, so control replies wait in
//! the kernel while a transfer runs. For real use, see `ftp_client::blocking`.
//!
//! It logs in, switches to binary, lists the login directory, downloads FILE (counting its
//! bytes, writing nothing) and quits:
//!
//! ```sh
//! cargo run --example sansio-client -- HOST:PORT USER PASSWORD [FILE]
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ftp_proto::client::{
    ClientConfig, ClientSession, DataEvent, DataMode, Event, ListFormat, OpId, Operation, Output,
};
use ftp_proto::command::TransferType;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, user, password, file) = match args.as_slice() {
        [a, u, p] => (a, u, p, None),
        [a, u, p, f] => (a, u, p, Some(f.as_str())),
        _ => {
            eprintln!("usage: sansio-client HOST:PORT USER PASSWORD [FILE]");
            return ExitCode::FAILURE;
        }
    };
    match run(addr, user, password, file) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("sansio-client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the session to its end; `Ok(false)` when an operation failed.
fn run(addr: &str, user: &str, password: &str, file: Option<&str>) -> io::Result<bool> {
    let addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
    let mut control = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    control.set_nodelay(true)?;

    // `ClientConfig` is non-exhaustive: start from the defaults and change fields.
    let mut config = ClientConfig::default();
    config.data_mode = DataMode::ExtendedPassive;
    let mut session = ClientSession::new(
        config,
        control.peer_addr()?,
        control.local_addr()?,
        Instant::now(),
    );

    // Queue everything up front; the session runs the operations one after the other (the
    // first waits for the greeting). `start` refuses arguments holding CR, LF or NUL.
    let usage = |e| io::Error::new(io::ErrorKind::InvalidInput, e);
    let now = Instant::now();
    let login = Operation::Login {
        user: user.to_owned().into(),
        password: password.to_owned().into(),
        account: None,
    };
    session.start(login, now).map_err(usage)?;
    session
        .start(Operation::Type(TransferType::Image), now)
        .map_err(usage)?;
    let list = Operation::List {
        path: None,
        format: ListFormat::List,
    };
    let list_op = session.start(list, now).map_err(usage)?;
    let retr_op = file
        .map(|f| {
            let path = f.to_owned().into();
            session.start(Operation::Retrieve { path, offset: 0 }, now)
        })
        .transpose()
        .map_err(usage)?;
    session.start(Operation::Quit, now).map_err(usage)?;

    let mut data: Option<TcpStream> = None; // the data connection of the running transfer
    let mut listing = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut ok = true;
    loop {
        // 1. Everything the session wants written, first.
        while let Some(bytes) = session.poll_transmit() {
            control.write_all(&bytes)?;
        }
        // 2. One event; acting on it may call `handle_data`, so go back to step 1 after it.
        if let Some(event) = session.poll_event() {
            let now = Instant::now();
            match event {
                Event::ConnectData { op, addr } => {
                    match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
                        Ok(stream) => {
                            data = Some(stream);
                            session.handle_data(op, DataEvent::Connected, now);
                        }
                        Err(_) => session.handle_data(op, DataEvent::ConnectFailed, now),
                    }
                }
                Event::DataReady { op } => {
                    let sink = (op == list_op).then_some(&mut listing);
                    let event = match data.take() {
                        Some(stream) => read_to_eof(&mut session, op, stream, &mut buf, sink),
                        None => DataEvent::Failed,
                    };
                    session.handle_data(op, event, Instant::now());
                }
                Event::CloseData { .. } => data = None,
                Event::Done { op, result } => match result {
                    Ok(Output::Transferred { bytes }) if op == list_op => {
                        println!("listing ({bytes} bytes):");
                        print!("{}", String::from_utf8_lossy(&listing));
                    }
                    Ok(Output::Transferred { bytes }) if Some(op) == retr_op => {
                        println!("{}: {bytes} bytes", file.unwrap_or_default());
                    }
                    Ok(Output::Reply(r)) => {
                        println!(
                            "op {}: {} {}",
                            op.get(),
                            r.code,
                            String::from_utf8_lossy(r.text())
                        );
                    }
                    Ok(other) => println!("op {}: {other:?}", op.get()),
                    Err(e) => {
                        eprintln!("op {} failed: {e}", op.get());
                        ok = false;
                    }
                },
                Event::Closed { error } => {
                    while let Some(bytes) = session.poll_transmit() {
                        control.write_all(&bytes)?;
                    }
                    if let Some(e) = error {
                        eprintln!("session closed: {e}");
                        ok = false;
                    }
                    return Ok(ok);
                }
                // ListenData (active mode) cannot happen in passive mode; other events are
                // for newer versions of the session.
                other => eprintln!("unexpected event: {other:?}"),
            }
            continue;
        }
        // 3. Nothing left to do: wait for a reply, at most until the session's deadline.
        let deadline = session.poll_timeout();
        let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if wait.is_some_and(|w| w.is_zero()) {
            session.handle_timeout(Instant::now());
            continue;
        }
        control.set_read_timeout(wait)?;
        match control.read(&mut buf) {
            Ok(0) => session.handle_eof(Instant::now()),
            Ok(n) => session.handle_input(&buf[..n], Instant::now()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                session.handle_timeout(Instant::now());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => session.handle_eof(Instant::now()),
        }
    }
}

/// Reads a download or listing to its end, reporting progress; returns the closing event.
fn read_to_eof(
    session: &mut ClientSession,
    op: OpId,
    mut stream: TcpStream,
    buf: &mut [u8],
    mut sink: Option<&mut Vec<u8>>,
) -> DataEvent {
    // The session's stall timer needs `handle_timeout`, which this loop never calls; a read
    // timeout on the socket plays its part.
    if stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .is_err()
    {
        return DataEvent::Failed;
    }
    let mut total = 0u64;
    loop {
        match stream.read(buf) {
            Ok(0) => return DataEvent::Closed { bytes: total },
            Ok(n) => {
                total += n as u64;
                if let Some(sink) = sink.as_deref_mut() {
                    sink.extend_from_slice(&buf[..n]);
                }
                // Nothing to write or act on follows a progress report (it resets the timer).
                session.handle_data(op, DataEvent::Progress(n as u64), Instant::now());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return DataEvent::Failed,
        }
    }
}
