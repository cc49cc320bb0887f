//! MPEG-TS, sans-IO: packet alignment and random-access points (`scan`).

mod scan;

pub use scan::*;
