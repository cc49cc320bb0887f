//! relay-core: the IPTV relay engine.
pub mod catalog;
pub mod config;
pub mod engine;
pub mod events;
pub mod guide;
pub mod log;
pub mod media;
pub mod proto;
pub mod relay;
pub mod server;
pub mod shutdown;
pub mod slots;
pub mod stats;
pub mod sync;
pub mod sys;
pub mod token;
pub mod upstream;
