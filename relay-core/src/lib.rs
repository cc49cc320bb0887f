//! relay-core: the IPTV relay engine.
pub mod catalog;
pub mod http;
pub mod m3u;
pub mod uri;
