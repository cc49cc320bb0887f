//! Noticing a client that hung up while its stream waits for the upstream: a viewer of a slow or
//! silent stream must give back its provider slot (and an unshared upstream) at once, not at the
//! next write, which may be tens of seconds away.

use std::io;
use std::mem::MaybeUninit;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Resolves once `client` closed (FIN) or reset its connection. While the connection is open it
/// never resolves; if the client sends bytes (a player has nothing to say mid-stream), they are
/// left unread and watching stops, since a peek can no longer tell a close from them.
pub async fn hung_up(client: &TcpStream) {
    loop {
        if client.readable().await.is_err() {
            return;
        }
        let mut probe = [MaybeUninit::<u8>::uninit(); 1];
        let peeked = client.try_io(Interest::READABLE, || {
            socket2::SockRef::from(client).peek(&mut probe)
        });
        match peeked {
            Ok(0) => return,
            Ok(_) => return std::future::pending().await,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

/// The error a stream ends with when [`hung_up`] resolved.
pub fn hung_up_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the client hung up")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn a_close_is_noticed_and_an_open_quiet_client_is_not() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let quiet = TcpStream::connect(addr).await.unwrap();
        let (server_side, _) = l.accept().await.unwrap();
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(200), hung_up(&server_side))
                .await;
        assert!(waiting.is_err(), "an open client has not hung up");
        drop(quiet);
        hung_up(&server_side).await;

        let mut talker = TcpStream::connect(addr).await.unwrap();
        let (server_side, _) = l.accept().await.unwrap();
        talker.write_all(b"x").await.unwrap();
        let watching =
            tokio::time::timeout(std::time::Duration::from_millis(200), hung_up(&server_side))
                .await;
        assert!(watching.is_err(), "bytes from the client are not a hang-up");
    }
}
