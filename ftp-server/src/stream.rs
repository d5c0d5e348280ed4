//! A connection that is plain TCP or TLS over it, behind one type, so the control loop and the
//! transfer code are written once.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::runtime::Stream;

/// A runtime stream, or (feature `rustls`) a server-side TLS session over one.
pub(crate) enum MaybeTls<S> {
    /// Cleartext.
    Plain(S),
    /// TLS (after `AUTH TLS`, on an implicit-TLS listener, or a `PROT P` data connection).
    #[cfg(feature = "rustls")]
    Tls(Box<crate::tls::TlsStream<S>>),
    /// Only while the plain stream is moved into a TLS handshake; every operation fails.
    #[cfg(feature = "rustls")]
    Upgrading,
}

#[cfg(feature = "rustls")]
fn upgrading() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "TLS handshake in progress")
}

impl<S: Stream> MaybeTls<S> {
    fn tcp(&self) -> io::Result<&S> {
        match self {
            MaybeTls::Plain(s) => Ok(s),
            #[cfg(feature = "rustls")]
            MaybeTls::Tls(t) => Ok(t.get_ref().0),
            #[cfg(feature = "rustls")]
            MaybeTls::Upgrading => Err(upgrading()),
        }
    }

    /// Runs the server side of a TLS handshake on a plain stream and becomes the TLS stream.
    /// On failure the stream is gone (the caller closes the connection).
    #[cfg(feature = "rustls")]
    pub(crate) async fn upgrade(
        &mut self,
        acceptor: &futures_rustls::TlsAcceptor,
    ) -> io::Result<()> {
        let MaybeTls::Plain(plain) = std::mem::replace(self, MaybeTls::Upgrading) else {
            return Err(io::Error::other("TLS already running"));
        };
        let tls = acceptor.accept(plain).await?;
        *self = MaybeTls::Tls(Box::new(tls));
        Ok(())
    }
}

impl<S: Stream> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTls::Tls(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTls::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }
}

impl<S: Stream> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTls::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTls::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            MaybeTls::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
            #[cfg(feature = "rustls")]
            MaybeTls::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_close(cx),
            // Sends close_notify, then shuts the TCP connection down.
            #[cfg(feature = "rustls")]
            MaybeTls::Tls(t) => Pin::new(t.as_mut()).poll_close(cx),
            #[cfg(feature = "rustls")]
            MaybeTls::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }
}

impl<S: Stream> Stream for MaybeTls<S> {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp()?.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp()?.peer_addr()
    }

    fn read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => s.read_now(buf),
            // A TLS read never stops at an urgent mark (clients send no urgent data over TLS),
            // and rustls keeps what it decrypted for the next read.
            #[cfg(feature = "rustls")]
            _ => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn into_blocking(self) -> Result<io::Result<std::net::TcpStream>, Self> {
        match self {
            MaybeTls::Plain(s) => s.into_blocking().map_err(MaybeTls::Plain),
            #[cfg(feature = "rustls")]
            tls => Err(tls),
        }
    }

    async fn send_file(
        &mut self,
        file: &File,
        offset: u64,
        len: usize,
    ) -> io::Result<Option<usize>> {
        match self {
            MaybeTls::Plain(s) => s.send_file(file, offset, len).await,
            // TLS encrypts in user space: the caller copies.
            #[cfg(feature = "rustls")]
            _ => Ok(None),
        }
    }
}
