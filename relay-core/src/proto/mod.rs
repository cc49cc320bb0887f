//! Sans-IO parsers and writers: bytes in, values out, no sockets, files or runtime.
pub mod gzip;
pub mod xmltv;
