//! MPEG-TS, sans-IO.
//!
//! - `scan` (re-exported here): [`Aligner`] cuts byte pieces into whole packets, [`Scanner`]
//!   finds random-access points (PAT, PMT, keyframe).
//! - [`packet`]: one packet's header and adaptation field, PCR and 33-bit clock arithmetic, null
//!   packets.
//! - [`psi`]: PAT and PMT sections (reassembly, CRC32/MPEG-2, parsing, writing, packetising) and
//!   stream classification.
//! - [`pes`]: PES headers (PTS/DTS read and shifted in place) and keyframe detection.
//! - [`splice`]: [`splice::Splicer`], one continuous valid stream across source switches, and
//!   [`splice::Slate`] for looping one file.
//! - [`synth`]: synthetic streams and an output checker for tests, benches and fuzzing.

mod scan;

pub mod packet;
pub mod pes;
pub mod psi;
pub mod splice;
pub mod synth;

pub use scan::*;
