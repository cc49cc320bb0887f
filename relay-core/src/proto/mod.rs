//! Sans-IO parsers and writers: no async runtime, no sockets, no file system here.
//!
//! - [`ts`]: MPEG-TS packets, PSI tables, PES timestamps and the splicer that keeps one output
//!   stream valid across source switches.

pub mod ts;
