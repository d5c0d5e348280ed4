//! What the async client needs from a runtime: TCP connect, listen and accept, and a timer.
//!
//! The client itself is written once, against [`Runtime`]; streams use the `futures-io`
//! traits, so anything built on them plugs in.
//!
//! | runtime | type | feature |
//! |---|---|---|
//! | tokio (through `tokio-util`'s compat layer) | [`TokioRuntime`] | `tokio` |
//! | async-std and smol (their reactor, `async-io`) | [`AsyncStdRuntime`] | `async-std` |

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};

/// An async runtime the client can run on: it connects, listens, accepts and sleeps.
/// Everything else (the protocol, timeouts, transfers) is shared.
pub trait Runtime: Clone + Send + Sync + Unpin + 'static {
    /// A connected TCP stream.
    type Stream: Stream;
    /// A listening TCP socket.
    type Listener: Listener<Stream = Self::Stream>;
    /// A timer, from [`sleep_until`](Runtime::sleep_until).
    type Sleep: Future + Send + Unpin + 'static;

    /// Connects to `addr`.
    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Binds a listening socket.
    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// A timer that completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;
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
}

#[cfg(feature = "tokio")]
pub use self::tokio_rt::TokioRuntime;

#[cfg(feature = "tokio")]
mod tokio_rt {
    use super::*;
    use std::pin::Pin;
    use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

    /// The tokio runtime. Use it from inside a tokio runtime (e.g. under `#[tokio::main]`).
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[derive(Debug, Clone, Copy, Default)]
    pub struct TokioRuntime;

    impl Runtime for TokioRuntime {
        type Stream = Compat<tokio::net::TcpStream>;
        type Listener = tokio::net::TcpListener;
        type Sleep = Pin<Box<tokio::time::Sleep>>;

        async fn connect(&self, addr: SocketAddr) -> io::Result<Self::Stream> {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(stream.compat())
        }

        async fn bind(&self, addr: SocketAddr) -> io::Result<Self::Listener> {
            tokio::net::TcpListener::bind(addr).await
        }

        fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
            Box::pin(tokio::time::sleep_until(deadline.into()))
        }
    }

    impl Listener for tokio::net::TcpListener {
        type Stream = Compat<tokio::net::TcpStream>;

        async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
            let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
            stream.set_nodelay(true)?;
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
    }
}

#[cfg(feature = "async-std")]
pub use self::async_io_rt::{AsyncListener, AsyncStdRuntime, AsyncStream};

#[cfg(feature = "async-std")]
mod async_io_rt {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use async_io::Async;

    /// The runtime of async-std and smol: sockets and timers on `async-io`, the reactor both
    /// share. The client spawns nothing, so any executor drives it.
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
        type Stream = AsyncStream;
        type Listener = AsyncListener;
        type Sleep = async_io::Timer;

        async fn connect(&self, addr: SocketAddr) -> io::Result<Self::Stream> {
            let stream = Async::<std::net::TcpStream>::connect(addr).await?;
            stream.get_ref().set_nodelay(true)?;
            Ok(AsyncStream(stream))
        }

        async fn bind(&self, addr: SocketAddr) -> io::Result<Self::Listener> {
            Async::<std::net::TcpListener>::bind(addr).map(AsyncListener)
        }

        fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
            async_io::Timer::at(deadline)
        }
    }

    impl Listener for AsyncListener {
        type Stream = AsyncStream;

        async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
            let (stream, peer) = self.0.accept().await?;
            stream.get_ref().set_nodelay(true)?;
            Ok((AsyncStream(stream), peer))
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.0.get_ref().local_addr()
        }
    }

    impl AsyncRead for AsyncStream {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for AsyncStream {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_close(cx)
        }
    }

    impl Stream for AsyncStream {
        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.0.get_ref().local_addr()
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.0.get_ref().peer_addr()
        }
    }
}
