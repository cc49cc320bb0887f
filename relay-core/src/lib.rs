//! relay-core: the IPTV relay engine.
pub mod base64;
pub mod catalog;
pub mod config;
pub mod engine;
pub mod events;
pub mod hls;
pub mod http;
pub mod json;
pub mod log;
pub mod m3u;
pub mod proto;
pub mod relay;
pub mod server;
pub mod slots;
pub mod token;
pub mod upstream;
pub mod uri;
