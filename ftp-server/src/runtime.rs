//! What the server needs from an async runtime: TCP, a timer and a way to spawn tasks.
//!
//! The protocol lives in `ftp-proto`; the connection driver in this crate is written once,
//! against this trait, and every runtime supplies only the few operations below. Streams use
//! the `futures-io` traits, so anything built on them (smol, async-std, tokio through
//! `tokio-util`'s compat layer) plugs in.
//!
//! | runtime | type | feature |
//! |---|---|---|
//! | tokio | [`TokioRuntime`] | `tokio` (default) |
//! | async-std (and smol's reactor, `async-io`) | [`AsyncStdRuntime`] | `async-std` |

use std::fs::File;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};

/// An async runtime the server can run on.
///
/// Implementations are small: they bind, accept, connect, sleep and spawn. Everything else —
/// the protocol, timeouts, transfers — is shared.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// A listening TCP socket.
    type Listener: Listener<Stream = Self::Stream>;
    /// A connected TCP stream.
    type Stream: Stream;

    /// Binds a listening socket.
    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// Connects to `addr`, from `from` when given (the source address and port of an
    /// active-mode data connection).
    fn connect(
        &self,
        addr: SocketAddr,
        from: Option<SocketAddr>,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send;

    /// Runs `future` in the background.
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;
}

/// A listening TCP socket.
pub trait Listener: Send + Sync + 'static {
    /// The stream an accepted connection yields.
    type Stream;

    /// Waits for the next connection.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;

    /// The address the socket is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A connected TCP stream.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// The local address of the connection.
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// The remote address of the connection.
    fn peer_addr(&self) -> io::Result<SocketAddr>;

    /// Reads what the socket already holds without waiting (`WouldBlock` when it holds
    /// nothing).
    ///
    /// A read on a socket with `SO_OOBINLINE` stops at the urgent mark even though more bytes
    /// are queued; a runtime that takes a short read to mean "drained" (tokio does) would then
    /// wait for an edge that never comes. The control connection therefore drains with this
    /// after every read. Runtimes whose reads always try the socket first keep the default.
    fn read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let _ = buf;
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Turns the stream into a blocking [`std::net::TcpStream`], taken off the runtime's
    /// reactor, for a copy loop on a thread of its own (the binary upload path: blocking
    /// `read` from the socket, `write` into the file, as a process-per-session server does).
    ///
    /// `Err(self)` when this stream cannot become one (the default: the caller keeps the
    /// async stream); `Ok(Err(e))` when taking it off the reactor failed, which closes the
    /// connection.
    fn into_blocking(self) -> Result<io::Result<std::net::TcpStream>, Self>
    where
        Self: Sized,
    {
        Err(self)
    }

    /// Sends up to `len` bytes of `file` from `offset` without copying them through user
    /// space, returning how many were sent (0 at the end of the file), or `None` when this
    /// stream cannot do that (the caller then copies).
    fn send_file(
        &mut self,
        file: &File,
        offset: u64,
        len: usize,
    ) -> impl Future<Output = io::Result<Option<usize>>> + Send {
        let _ = (file, offset, len);
        async { Ok(None) }
    }
}

/// Keeps TCP urgent data in the byte stream (`SO_OOBINLINE`). Clients send the Telnet Synch
/// before `ABOR` as urgent data (RFC 959 §4.1.3; Python's ftplib sends `ABOR\r\n` itself with
/// `MSG_OOB`): without this the urgent byte is dropped from the stream and `ABOR` is lost.
fn oob_inline(socket: socket2::SockRef<'_>) -> io::Result<()> {
    socket.set_out_of_band_inline(true)
}

/// Binds a socket for an active-mode data connection's source address (`SO_REUSEADDR`, so a
/// fixed source port such as 20 can be reused at once).
fn active_socket(addr: SocketAddr, from: SocketAddr) -> io::Result<socket2::Socket> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&from.into())?;
    Ok(socket)
}

#[cfg(feature = "tokio")]
pub use self::tokio_rt::TokioRuntime;

#[cfg(feature = "tokio")]
mod tokio_rt {
    use super::*;
    use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

    /// The tokio runtime. Use it from inside a tokio runtime (e.g. under `#[tokio::main]`).
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[derive(Debug, Clone, Copy, Default)]
    pub struct TokioRuntime;

    impl Runtime for TokioRuntime {
        type Listener = tokio::net::TcpListener;
        type Stream = Compat<tokio::net::TcpStream>;

        async fn bind(&self, addr: SocketAddr) -> io::Result<Self::Listener> {
            tokio::net::TcpListener::bind(addr).await
        }

        async fn connect(
            &self,
            addr: SocketAddr,
            from: Option<SocketAddr>,
        ) -> io::Result<Self::Stream> {
            let stream = match from {
                None => tokio::net::TcpStream::connect(addr).await?,
                Some(from) => {
                    let socket = active_socket(addr, from)?;
                    socket.set_nonblocking(true)?;
                    tokio::net::TcpSocket::from_std_stream(socket.into())
                        .connect(addr)
                        .await?
                }
            };
            stream.set_nodelay(true)?;
            Ok(stream.compat())
        }

        fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
            tokio::time::sleep_until(deadline.into())
        }

        fn spawn<F>(&self, future: F)
        where
            F: Future<Output = ()> + Send + 'static,
        {
            tokio::spawn(future);
        }
    }

    impl Listener for tokio::net::TcpListener {
        type Stream = Compat<tokio::net::TcpStream>;

        async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
            let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
            stream.set_nodelay(true)?;
            oob_inline(socket2::SockRef::from(&stream))?;
            Ok((stream.compat(), peer))
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            tokio::net::TcpListener::local_addr(self)
        }
    }

    impl Stream for Compat<tokio::net::TcpStream> {
        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.get_ref().local_addr()
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.get_ref().peer_addr()
        }

        fn read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let (_, n) = rustix::net::recv(self.get_ref(), buf, rustix::net::RecvFlags::DONTWAIT)?;
            Ok(n)
        }

        fn into_blocking(self) -> Result<io::Result<std::net::TcpStream>, Self> {
            // tokio streams carry no user-space buffer: nothing read is left behind.
            Ok(self.into_inner().into_std().and_then(|s| {
                s.set_nonblocking(false)?;
                Ok(s)
            }))
        }

        #[cfg(any(target_os = "linux", target_os = "android"))]
        async fn send_file(
            &mut self,
            file: &File,
            offset: u64,
            len: usize,
        ) -> io::Result<Option<usize>> {
            let stream = self.get_ref();
            loop {
                stream.writable().await?;
                let mut off = offset;
                match stream.try_io(tokio::io::Interest::WRITABLE, || {
                    rustix::fs::sendfile(stream, file, Some(&mut off), len).map_err(Into::into)
                }) {
                    Ok(n) => return Ok(Some(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

#[cfg(feature = "async-std")]
pub use self::async_std_rt::AsyncStdRuntime;

#[cfg(feature = "async-std")]
mod async_std_rt {
    use super::*;
    use async_io::Async;

    /// The async-std runtime: tasks on async-std's executor, sockets on `async-io` (the
    /// reactor async-std and smol share), timers from `async-io`.
    #[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
    #[derive(Debug, Clone, Copy, Default)]
    pub struct AsyncStdRuntime;

    /// A listening socket on the `async-io` reactor.
    #[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
    #[derive(Debug)]
    pub struct AsyncListener(Async<std::net::TcpListener>);

    /// A TCP stream on the `async-io` reactor.
    #[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
    #[derive(Debug)]
    pub struct AsyncStream(Async<std::net::TcpStream>);

    impl Runtime for AsyncStdRuntime {
        type Listener = AsyncListener;
        type Stream = AsyncStream;

        async fn bind(&self, addr: SocketAddr) -> io::Result<Self::Listener> {
            Async::<std::net::TcpListener>::bind(addr).map(AsyncListener)
        }

        async fn connect(
            &self,
            addr: SocketAddr,
            from: Option<SocketAddr>,
        ) -> io::Result<Self::Stream> {
            let stream = match from {
                None => Async::<std::net::TcpStream>::connect(addr).await?,
                Some(from) => {
                    let socket = active_socket(addr, from)?;
                    socket.set_nonblocking(true)?;
                    match socket.connect(&addr.into()) {
                        Ok(()) => {}
                        Err(e)
                            if e.raw_os_error()
                                == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                    let stream = Async::new(std::net::TcpStream::from(socket))?;
                    stream.writable().await?;
                    if let Some(e) = stream.get_ref().take_error()? {
                        return Err(e);
                    }
                    stream
                }
            };
            stream.get_ref().set_nodelay(true)?;
            Ok(AsyncStream(stream))
        }

        fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
            let timer = async_io::Timer::at(deadline);
            async move {
                timer.await;
            }
        }

        fn spawn<F>(&self, future: F)
        where
            F: Future<Output = ()> + Send + 'static,
        {
            async_std::task::spawn(future);
        }
    }

    impl Listener for AsyncListener {
        type Stream = AsyncStream;

        async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
            let (stream, peer) = self.0.accept().await?;
            stream.get_ref().set_nodelay(true)?;
            oob_inline(socket2::SockRef::from(stream.get_ref()))?;
            Ok((AsyncStream(stream), peer))
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.0.get_ref().local_addr()
        }
    }

    impl AsyncRead for AsyncStream {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<io::Result<usize>> {
            std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for AsyncStream {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_close(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut self.0).poll_close(cx)
        }
    }

    impl Stream for AsyncStream {
        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.0.get_ref().local_addr()
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.0.get_ref().peer_addr()
        }

        fn into_blocking(self) -> Result<io::Result<std::net::TcpStream>, Self> {
            Ok(self.0.into_inner().and_then(|s| {
                s.set_nonblocking(false)?;
                Ok(s)
            }))
        }

        #[cfg(any(target_os = "linux", target_os = "android"))]
        async fn send_file(
            &mut self,
            file: &File,
            offset: u64,
            len: usize,
        ) -> io::Result<Option<usize>> {
            let n = self
                .0
                .write_with(|s| {
                    let mut off = offset;
                    rustix::fs::sendfile(s, file, Some(&mut off), len).map_err(Into::into)
                })
                .await?;
            Ok(Some(n))
        }
    }
}
