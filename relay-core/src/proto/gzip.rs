//! Streaming gzip (RFC 1952) decoding in memory: compressed bytes in, bounded steps of plain
//! bytes out.
//!
//! The decoder owns no I/O: the caller [`feed`](GzipDecoder::feed)s compressed bytes as they
//! arrive and pulls plain bytes with [`decode`](GzipDecoder::decode), at most
//! [`DECODE_STEP`] bytes per call, so a small compressed chunk can never turn into a large
//! allocation (a deflate stream expands up to about 1000:1). Members concatenated one after the
//! other (as `cat a.gz b.gz` makes) decode as one stream; bytes after the last member that do not
//! start another member are ignored, as gzip(1) does. Every member's CRC-32 and length are checked.

use flate2::{Crc, Decompress, FlushDecompress, Status};
use std::fmt;

/// The two bytes every gzip member starts with; how gzip input is detected (names lie).
pub const MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Most plain bytes one [`GzipDecoder::decode`] call produces.
pub const DECODE_STEP: usize = 64 * 1024;
/// Longest member header accepted (the fixed 10 bytes plus the optional extra field, file name
/// and comment); a longer one is refused as [`GzipError::Header`] instead of being buffered.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Why a gzip stream could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GzipError {
    /// A member header is malformed (bad magic, method other than deflate, reserved flags, too long).
    Header,
    /// The deflate data is corrupt.
    Data,
    /// A member's CRC-32 or length does not match its data.
    Checksum,
    /// The input ended inside a member.
    Truncated,
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GzipError::Header => "malformed gzip header",
            GzipError::Data => "corrupt deflate data",
            GzipError::Checksum => "gzip checksum mismatch",
            GzipError::Truncated => "gzip stream truncated",
        })
    }
}

impl std::error::Error for GzipError {}

/// Whether `prefix` (the first bytes of an input) starts like gzip.
pub fn is_gzip(prefix: &[u8]) -> bool {
    prefix.starts_with(&MAGIC)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Expecting a member header (the first one, or another after a trailer).
    Header,
    /// Inside deflate data.
    Body,
    /// Expecting the 8-byte trailer.
    Trailer,
    /// After the last member: the rest of the input is ignored.
    Done,
}

/// A streaming gzip decoder. See the [module docs](self).
pub struct GzipDecoder {
    /// Compressed bytes fed but not yet consumed, from `at` on.
    input: Vec<u8>,
    at: usize,
    part: Part,
    inflate: Decompress,
    /// CRC-32 and length of the current member's plain bytes, checked against its trailer.
    crc: Crc,
    /// Where `decode` writes; its contents are what the last call returned.
    out: Vec<u8>,
    finished: bool,
    members: u32,
    error: Option<GzipError>,
}

impl fmt::Debug for GzipDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GzipDecoder")
            .field("pending", &(self.input.len() - self.at))
            .field("part", &self.part)
            .field("members", &self.members)
            .field("error", &self.error)
            .finish()
    }
}

impl Default for GzipDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl GzipDecoder {
    /// A decoder expecting the first member header.
    pub fn new() -> Self {
        GzipDecoder {
            input: Vec::new(),
            at: 0,
            part: Part::Header,
            inflate: Decompress::new(false),
            crc: Crc::new(),
            out: Vec::new(),
            finished: false,
            members: 0,
            error: None,
        }
    }

    /// Appends compressed bytes. Call [`decode`](Self::decode) until it returns an empty slice
    /// before feeding more, or the pending input grows with every call.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.at > 0 && self.at == self.input.len() {
            self.input.clear();
            self.at = 0;
        } else if self.at >= 64 * 1024 {
            self.input.drain(..self.at);
            self.at = 0;
        }
        if self.part != Part::Done {
            self.input.extend_from_slice(chunk);
        }
    }

    /// Marks the end of the input: a member left open is then [`GzipError::Truncated`].
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether the stream ended cleanly (after [`finish`](Self::finish), every member complete).
    pub fn is_done(&self) -> bool {
        self.error.is_none()
            && self.finished
            && (self.part == Part::Done
                || (self.part == Part::Header && self.at == self.input.len()))
            && self.members > 0
    }

    /// Bytes held: pending compressed input and the output step buffer.
    pub fn buffered_bytes(&self) -> usize {
        self.input.capacity() + self.out.capacity()
    }

    /// Members completed so far.
    pub fn members(&self) -> u32 {
        self.members
    }

    /// Decodes up to [`DECODE_STEP`] plain bytes. An empty slice means more input is needed (or,
    /// after [`finish`](Self::finish), that the stream is over: check [`is_done`](Self::is_done)).
    /// An error is sticky: every later call returns it again.
    pub fn decode(&mut self) -> Result<&[u8], GzipError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.out.clear();
        match self.step() {
            Ok(()) => Ok(&self.out),
            Err(e) => {
                self.error = Some(e);
                Err(e)
            }
        }
    }

    fn step(&mut self) -> Result<(), GzipError> {
        loop {
            match self.part {
                Part::Done => return Ok(()),
                Part::Header => {
                    let rest = &self.input[self.at..];
                    if self.members > 0 {
                        let maybe_member = match rest {
                            [] => true,
                            [b] => *b == MAGIC[0] && !self.finished,
                            _ => is_gzip(rest),
                        };
                        if !maybe_member {
                            // Trailing bytes that are not another member: ignored.
                            self.part = Part::Done;
                            self.at = self.input.len();
                            return Ok(());
                        }
                        if rest.is_empty() {
                            return Ok(());
                        }
                    }
                    match header_len(rest)? {
                        Some(n) => {
                            self.at += n;
                            self.part = Part::Body;
                        }
                        None if self.finished => return Err(GzipError::Truncated),
                        None => return Ok(()),
                    }
                }
                Part::Body => {
                    self.out.resize(DECODE_STEP, 0);
                    let before_in = self.inflate.total_in();
                    let before_out = self.inflate.total_out();
                    let status = self
                        .inflate
                        .decompress(&self.input[self.at..], &mut self.out, FlushDecompress::None)
                        .map_err(|_| GzipError::Data)?;
                    let used = (self.inflate.total_in() - before_in) as usize;
                    let made = (self.inflate.total_out() - before_out) as usize;
                    self.at += used;
                    self.out.truncate(made);
                    self.crc.update(&self.out);
                    if status == Status::StreamEnd {
                        self.part = Part::Trailer;
                        if made > 0 {
                            return Ok(());
                        }
                        continue;
                    }
                    if made > 0 {
                        return Ok(());
                    }
                    if used == 0 {
                        // No progress: the inflater wants more input.
                        return if self.finished {
                            Err(GzipError::Truncated)
                        } else {
                            Ok(())
                        };
                    }
                }
                Part::Trailer => {
                    let rest = &self.input[self.at..];
                    if rest.len() < 8 {
                        return if self.finished {
                            Err(GzipError::Truncated)
                        } else {
                            Ok(())
                        };
                    }
                    let crc = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
                    let len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
                    if crc != self.crc.sum() || len != self.crc.amount() {
                        return Err(GzipError::Checksum);
                    }
                    self.at += 8;
                    self.members += 1;
                    self.crc = Crc::new();
                    self.inflate.reset(false);
                    self.part = Part::Header;
                }
            }
        }
    }
}

/// The length of the member header at the start of `b`, `None` if `b` holds only part of it.
fn header_len(b: &[u8]) -> Result<Option<usize>, GzipError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let check = |n: usize| {
        if n > MAX_HEADER_BYTES {
            Err(GzipError::Header)
        } else {
            Ok(None)
        }
    };
    if b.len() >= 2 && !is_gzip(b) {
        return Err(GzipError::Header);
    }
    if b.len() < 10 {
        return Ok(None);
    }
    if b[2] != 8 || b[3] & 0xe0 != 0 {
        return Err(GzipError::Header);
    }
    let flags = b[3];
    let mut n = 10;
    if flags & FEXTRA != 0 {
        if b.len() < n + 2 {
            return Ok(None);
        }
        n += 2 + usize::from(u16::from_le_bytes([b[n], b[n + 1]]));
        if b.len() < n {
            return check(n);
        }
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            match memchr::memchr(0, &b[n..]) {
                Some(i) => n += i + 1,
                None => return check(b.len()),
            }
        }
    }
    if flags & FHCRC != 0 {
        n += 2;
        if b.len() < n {
            return Ok(None);
        }
    }
    if n > MAX_HEADER_BYTES {
        return Err(GzipError::Header);
    }
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Feeds `input` in `chunk`-byte pieces and collects everything decoded.
    fn run(input: &[u8], chunk: usize) -> (Vec<u8>, Result<(), GzipError>) {
        let mut d = GzipDecoder::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            d.feed(piece);
            loop {
                match d.decode() {
                    Ok([]) => break,
                    Ok(b) => {
                        assert!(b.len() <= DECODE_STEP);
                        out.extend_from_slice(b)
                    }
                    Err(e) => return (out, Err(e)),
                }
            }
        }
        d.finish();
        loop {
            match d.decode() {
                Ok([]) => break,
                Ok(b) => out.extend_from_slice(b),
                Err(e) => return (out, Err(e)),
            }
        }
        assert!(d.is_done());
        (out, Ok(()))
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn decodes_whole_and_in_pieces() {
        let data = sample(300_000);
        let z = gz(&data);
        for chunk in [1, 7, 4096, z.len()] {
            let (out, r) = run(&z, chunk);
            assert_eq!(r, Ok(()), "chunk {chunk}");
            assert_eq!(out, data, "chunk {chunk}");
        }
    }

    #[test]
    fn concatenated_members_and_trailing_garbage() {
        let mut z = gz(b"hello ");
        z.extend(gz(b"world"));
        z.extend_from_slice(b"\0\0\0junk");
        let (out, r) = run(&z, 3);
        assert_eq!(r, Ok(()));
        assert_eq!(out, b"hello world");
    }

    #[test]
    fn header_with_name_comment_extra_and_crc() {
        let z = gz(b"payload");
        // Rebuild the header with FEXTRA, FNAME, FCOMMENT and FHCRC set.
        let mut h = vec![0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3];
        h.extend_from_slice(&[3, 0, b'a', b'b', b'c']);
        h.extend_from_slice(b"guide.xml\0a comment\0");
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&z[10..]);
        let (out, r) = run(&h, 2);
        assert_eq!(r, Ok(()));
        assert_eq!(out, b"payload");
    }

    #[test]
    fn truncation_corruption_and_checksum_are_errors() {
        let z = gz(&sample(10_000));
        assert_eq!(run(&z[..z.len() - 3], 100).1, Err(GzipError::Truncated));
        assert_eq!(run(&z[..5], 100).1, Err(GzipError::Truncated));
        let mut bad_crc = z.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        assert_eq!(run(&bad_crc, 100).1, Err(GzipError::Checksum));
        let mut bad_method = z.clone();
        bad_method[2] = 7;
        assert_eq!(run(&bad_method, 100).1, Err(GzipError::Header));
        let mut bad_data = z;
        bad_data[12] = 0xff;
        bad_data[13] = 0xff;
        assert!(run(&bad_data, 100).1.is_err());
    }

    #[test]
    fn a_bomb_comes_out_in_bounded_steps() {
        let data = vec![b'a'; 20 << 20];
        let z = gz(&data);
        assert!(z.len() < 100_000);
        let mut d = GzipDecoder::new();
        d.feed(&z);
        d.finish();
        let mut total = 0;
        loop {
            let b = d.decode().unwrap();
            if b.is_empty() {
                break;
            }
            assert!(b.len() <= DECODE_STEP);
            total += b.len();
        }
        assert_eq!(total, data.len());
        assert!(d.is_done());
    }
}
