//! The routes. Each takes the [`RequestContext`](super::router::RequestContext) and returns a
//! [`Reply`](super::reply::Reply); none touches a socket.
//!
//! - [`playlist`]: `/playlist.m3u8` (and `/playlist.m3u`).
//! - [`api`]: `/health`, `/api/channels`, `/api/groups`.
//! - [`stream`]: `/stream/{id}` for TS and file channels (shared or not, slots, ranges).
//! - [`hls`]: HLS channels at `/stream/{id}.m3u8` and their sub-resources at `/r/{token}`.

pub(super) mod api;
pub(super) mod hls;
pub(super) mod playlist;
pub(super) mod stream;
