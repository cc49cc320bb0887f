//! Event callbacks: an engine's viewers and upstreams, handed to the embedder
//! (`relay_engine_set_event_callback`, in [`engine`](crate::engine)). See
//! [`relay_core::events`] for what is reported and in which order.

use crate::guard::as_callback;
use relay_core::events::{Event, EventSink};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// The most bytes of the `peer` text of a `relay_event` (the longest, an IPv6 address with a
/// zone and a port, `[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535`, is 58).
pub const RELAY_EVENT_MAX_PEER_BYTES: usize = 64;

/// What a `relay_event` reports. New kinds may be added: ignore the ones you do not know.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum relay_event_kind {
    /// A viewer started receiving a stream: `channel`, `peer`, `shared`.
    ViewerConnected = 1,
    /// A viewer's stream ended: `channel`, `peer`, `shared`, `bytes` sent to it (0 when its
    /// connection was cut because it outlasted the shutdown grace), `reason` (`complete`,
    /// `client left`, `cut: …` when the upstream failed, `dropped (too slow)`, `stopped`).
    ViewerDisconnected = 2,
    /// An upstream connection started carrying a stream of `channel`: the one of a shared
    /// channel (`shared`), or a single viewer's own.
    UpstreamOpened = 3,
    /// That upstream connection closed: `channel`, `shared`, `reason` (`complete`, `cut: …`,
    /// `no viewers`, `slot reclaimed`, `stopped`; a single viewer's upstream has its viewer's).
    UpstreamClosed = 4,
    /// A shared channel moved to another upstream mid-stream (`channel`).
    UpstreamSwitched = 5,
}

/// One event, passed by pointer to a `relay_event_callback`; it and every byte it points to are
/// valid only during that call (copy what you keep). Texts are pointer + length, UTF-8, not
/// NUL-terminated, never NULL (an empty text has length 0).
#[repr(C)]
#[derive(Debug)]
pub struct relay_event {
    pub kind: relay_event_kind,
    /// The channel id (`/stream/{id}`; the `id` of `/api/channels`).
    pub channel: *const c_char,
    pub channel_len: usize,
    /// The viewer's address, `127.0.0.1:40512` or `[::1]:40512` (at most
    /// `RELAY_EVENT_MAX_PEER_BYTES`); empty for upstream events.
    pub peer: *const c_char,
    pub peer_len: usize,
    /// Bytes sent to the viewer (`RELAY_EVENT_KIND_VIEWER_DISCONNECTED`); else 0.
    pub bytes: u64,
    /// Why it ended, in words for people (disconnects and closes); else empty.
    pub reason: *const c_char,
    pub reason_len: usize,
    /// The viewer or upstream belongs to a shared channel (one upstream for all its viewers).
    pub shared: bool,
}

/// Receives the events of an engine (see `relay_engine_set_event_callback`). `event` is valid
/// only during the call.
pub type relay_event_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const relay_event)>;

/// The C callback and its userdata, made into the engine's event sink.
struct CEvents {
    callback: unsafe extern "C" fn(*mut c_void, *const relay_event),
    userdata: *mut c_void,
}

// SAFETY: `relay_engine_set_event_callback` requires the callback to be callable from any
// thread, at the same time, with this `userdata`; the library never reads through `userdata`.
unsafe impl Send for CEvents {}
// SAFETY: as for `Send`: shared use means concurrent calls, which the contract allows.
unsafe impl Sync for CEvents {}

/// A peer address as text, on the stack: no allocation per event.
struct PeerText {
    buf: [u8; RELAY_EVENT_MAX_PEER_BYTES],
    len: usize,
}

impl std::fmt::Write for PeerText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl CEvents {
    fn emit(&self, event: &Event<'_>) {
        use std::fmt::Write as _;
        let mut peer = PeerText {
            buf: [0; RELAY_EVENT_MAX_PEER_BYTES],
            len: 0,
        };
        let (kind, channel, bytes, reason, shared) = match *event {
            Event::ViewerConnected {
                channel,
                peer: addr,
                shared,
            } => {
                // Always fits (see the constant); a piece that did not would be left out.
                let _ = write!(peer, "{addr}");
                (relay_event_kind::ViewerConnected, channel, 0, "", shared)
            }
            Event::ViewerDisconnected {
                channel,
                peer: addr,
                shared,
                bytes,
                reason,
            } => {
                let _ = write!(peer, "{addr}");
                let kind = relay_event_kind::ViewerDisconnected;
                (kind, channel, bytes, reason, shared)
            }
            Event::UpstreamOpened { channel, shared } => {
                (relay_event_kind::UpstreamOpened, channel, 0, "", shared)
            }
            Event::UpstreamClosed {
                channel,
                shared,
                reason,
            } => (relay_event_kind::UpstreamClosed, channel, 0, reason, shared),
            Event::UpstreamSwitched { channel } => {
                (relay_event_kind::UpstreamSwitched, channel, 0, "", true)
            }
        };
        let peer = peer.buf.get(..peer.len).unwrap_or_default();
        let c = relay_event {
            kind,
            channel: channel.as_ptr().cast(),
            channel_len: channel.len(),
            peer: peer.as_ptr().cast(),
            peer_len: peer.len(),
            bytes,
            reason: reason.as_ptr().cast(),
            reason_len: reason.len(),
            shared,
        };
        as_callback(|| {
            // SAFETY: the embedder gave this function pointer for exactly this signature; `c`
            // and the bytes it points to (borrowed from `event` and `peer`) outlive the call.
            unsafe { (self.callback)(self.userdata, &c) }
        });
    }
}

/// The engine's event sink for a C callback (`None` for a NULL callback).
pub(crate) fn sink(callback: relay_event_callback, userdata: *mut c_void) -> Option<EventSink> {
    let c = CEvents {
        callback: callback?,
        userdata,
    };
    Some(Arc::new(move |event: &Event<'_>| c.emit(event)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn the_longest_peer_text_fits() {
        use std::fmt::Write as _;
        let ip = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        let longest: SocketAddr = std::net::SocketAddrV6::new(ip, 65535, 0, u32::MAX).into();
        let mapped: SocketAddr = "[::ffff:255.255.255.255]:65535".parse().unwrap();
        for addr in [longest, mapped] {
            let mut peer = PeerText {
                buf: [0; RELAY_EVENT_MAX_PEER_BYTES],
                len: 0,
            };
            write!(peer, "{addr}").unwrap();
            assert_eq!(&peer.buf[..peer.len], addr.to_string().as_bytes());
        }
    }
}
