//! Sans-IO parsers and writers: no tokio, std::net or std::fs here.
//!
//! - [`ts`]: MPEG-TS packets, PSI tables, PES timestamps and the splicer that keeps one output
//!   stream valid across source switches.

pub mod ts;
