//! Viewer and upstream events, handed to a sink the embedder installs
//! ([`Engine::set_event_sink`](crate::engine::Engine::set_event_sink); the C ABI's
//! `relay_engine_set_event_callback`).
//!
//! - **Viewers** are clients of `/stream/{id}` that get a body: a viewer of a shared channel
//!   ([`Event::ViewerConnected`] with `shared: true`) or a stream relayed to one client alone
//!   (`shared: false`). `HEAD` requests, refused requests and HLS (playlists and `/r/` resources,
//!   which players fetch piece by piece) are not viewers and produce no events.
//! - **Upstreams** are the connections that carry those streams: one per shared channel however
//!   many watch it, and one per single-viewer stream.
//!
//! Order: a viewer's `ViewerConnected` comes before its `ViewerDisconnected`; a single-viewer
//! stream's events come as `UpstreamOpened`, `ViewerConnected`, `ViewerDisconnected`,
//! `UpstreamClosed`; a shared channel's `UpstreamOpened` comes before the `ViewerConnected` of
//! its viewers. Its `UpstreamClosed` comes after its last viewers' `ViewerDisconnected` when they
//! left (the upstream closes once the linger passes), and may come before them when the upstream
//! ended or failed first (each viewer's connection reports its own end).
//!
//! The sink is called inline, on the relay thread where the event happens, possibly from several
//! threads at once: it must be quick and must not block (copy what it needs and return; no
//! queue is kept for it). With no sink installed an event costs one atomic load, and nothing is
//! allocated or formatted.

use std::fmt;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// Something that happened to a viewer or an upstream. Borrowed strings live only during the
/// sink's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A viewer started receiving a stream (the response head was sent).
    ViewerConnected {
        /// The channel id (`/stream/{id}`).
        channel: &'a str,
        /// The viewer's address.
        peer: SocketAddr,
        /// Watching a shared channel (one upstream for all its viewers).
        shared: bool,
    },
    /// A viewer's stream ended.
    ViewerDisconnected {
        channel: &'a str,
        peer: SocketAddr,
        shared: bool,
        /// Body bytes sent to this viewer (0 when its connection was cut because it outlasted
        /// the shutdown grace).
        bytes: u64,
        /// Why, in words: `complete`, `client left`, `cut: …` (the upstream failed),
        /// `dropped (too slow)`, `stopped` (the engine stops, or the client's provider slot
        /// went to its next channel).
        reason: &'a str,
    },
    /// An upstream connection started carrying a stream of `channel`.
    UpstreamOpened {
        channel: &'a str,
        /// The upstream of a shared channel (else of one viewer's stream).
        shared: bool,
    },
    /// That upstream connection was closed.
    UpstreamClosed {
        channel: &'a str,
        shared: bool,
        /// Why, in words: `complete` (the body ended), `cut: …`, `no viewers` (a shared
        /// channel's linger passed), `slot reclaimed` (its provider slot was needed),
        /// `stopped`; for a single-viewer stream, its viewer's reason.
        reason: &'a str,
    },
    /// A shared channel's reader moved to another upstream mid-stream; its viewers resume at
    /// the next random-access point. (No upstream is switched to yet: failover and schedules
    /// will use it.)
    UpstreamSwitched { channel: &'a str },
}

impl Event<'_> {
    /// The channel the event is about.
    pub fn channel(&self) -> &str {
        match self {
            Event::ViewerConnected { channel, .. }
            | Event::ViewerDisconnected { channel, .. }
            | Event::UpstreamOpened { channel, .. }
            | Event::UpstreamClosed { channel, .. }
            | Event::UpstreamSwitched { channel } => channel,
        }
    }
}

/// Receives events; see the [module](self) for when and how it is called.
pub type EventSink = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// An engine's event sink, if any.
#[derive(Default)]
pub struct Events {
    /// Held for reading while the sink runs, so [`Events::set`] returns only once no call of
    /// the previous sink runs.
    sink: RwLock<Option<EventSink>>,
    /// Whether a sink is set: the whole cost of an event nobody listens to.
    on: AtomicBool,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("sink", &self.enabled())
            .finish()
    }
}

impl Events {
    /// Installs `sink` (`None` removes it). When this returns, no call of the previous sink is
    /// running or will start. Must not be called from inside the sink (it would wait for
    /// itself).
    pub fn set(&self, sink: Option<EventSink>) {
        let mut guard = crate::sync::write(&self.sink);
        self.on.store(sink.is_some(), Ordering::Release);
        *guard = sink;
    }

    /// Whether a sink is installed (build an event's costly parts only then).
    pub fn enabled(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Hands `event` to the sink, if any. A sink that panics is logged; the panic goes no
    /// further (events are also emitted from destructors).
    pub fn emit(&self, event: &Event<'_>) {
        if !self.enabled() {
            return;
        }
        let guard = crate::sync::read(&self.sink);
        if let Some(sink) = guard.as_ref()
            && catch_unwind(AssertUnwindSafe(|| sink(event))).is_err()
        {
            crate::log!(Error, "the event sink panicked on {event:?}");
        }
    }
}

/// One viewer's events: [`Event::ViewerConnected`] when made (after [`Event::UpstreamOpened`]
/// for a viewer with its own upstream), [`Event::ViewerDisconnected`] (then
/// [`Event::UpstreamClosed`]) when [finished](Self::disconnected) or dropped, so a viewer whose
/// connection is cut at shutdown past the grace is still reported gone (`stopped`, with its
/// bytes unknown: 0).
pub(crate) struct ViewerEvents<'a> {
    events: &'a Events,
    channel: &'a str,
    peer: SocketAddr,
    /// A viewer of a shared channel (else it has its own upstream).
    shared: bool,
    done: bool,
}

impl<'a> ViewerEvents<'a> {
    pub(crate) fn connected(
        events: &'a Events,
        channel: &'a str,
        peer: SocketAddr,
        shared: bool,
    ) -> ViewerEvents<'a> {
        if !shared {
            events.emit(&Event::UpstreamOpened { channel, shared });
        }
        events.emit(&Event::ViewerConnected {
            channel,
            peer,
            shared,
        });
        ViewerEvents {
            events,
            channel,
            peer,
            shared,
            done: false,
        }
    }

    /// The viewer's stream ended after `bytes`, for `reason`.
    pub(crate) fn disconnected(mut self, bytes: u64, reason: &str) {
        self.done = true;
        self.report(bytes, reason);
    }

    fn report(&self, bytes: u64, reason: &str) {
        let (channel, shared) = (self.channel, self.shared);
        self.events.emit(&Event::ViewerDisconnected {
            channel,
            peer: self.peer,
            shared,
            bytes,
            reason,
        });
        if !shared {
            self.events.emit(&Event::UpstreamClosed {
                channel,
                shared,
                reason,
            });
        }
    }
}

impl Drop for ViewerEvents<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.report(0, "stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn events_reach_the_sink_until_it_is_removed() {
        let events = Events::default();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        events.emit(&Event::UpstreamOpened {
            channel: "a",
            shared: true,
        });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        events.set(Some(Arc::new(move |e: &Event<'_>| {
            s.lock().unwrap().push(e.channel().to_string());
        })));
        assert!(events.enabled());
        events.emit(&Event::ViewerConnected {
            channel: "b",
            peer,
            shared: false,
        });
        events.set(None);
        events.emit(&Event::UpstreamSwitched { channel: "c" });
        assert!(!events.enabled());
        assert_eq!(*seen.lock().unwrap(), ["b"]);
    }

    #[test]
    fn a_panicking_sink_does_not_unwind_into_the_relay() {
        let events = Events::default();
        events.set(Some(Arc::new(|_: &Event<'_>| panic!("sink bug"))));
        events.emit(&Event::UpstreamSwitched { channel: "x" });
    }
}
