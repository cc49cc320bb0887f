//! `Transfer-Encoding: chunked`: an incremental decoder and a chunk writer.

use super::{HttpError, MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES, is_field_text};
use std::ops::Range;

/// One step of [`ChunkedDecoder::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Bytes of the input consumed by this step (framing and data).
    pub consumed: usize,
    /// Body data inside `input[..consumed]` (may be empty).
    pub data: Range<usize>,
    /// The last chunk and the trailers have been consumed: the body is complete.
    pub done: bool,
}

/// Where the chunked decoder is in the framing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ChunkState {
    /// In the hex digits of a chunk size (`digits`: at least one seen).
    #[default]
    Size,
    /// After the size, in optional whitespace before `;` or CR.
    SizeWs,
    /// In chunk extensions (ignored) up to CR.
    Ext,
    /// CR of the chunk-size line seen, LF expected.
    SizeLf,
    /// In chunk data, this many bytes left (never 0).
    Data(u64),
    /// Chunk data complete, CR expected.
    DataCr,
    /// CR after chunk data seen, LF expected.
    DataLf,
    /// At the start of a trailer line or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// CR seen, LF expected; `true` when it ends the final empty line.
    TrailerLf(bool),
    /// Last chunk, trailers and final CRLF consumed.
    Done,
}

/// Incremental `Transfer-Encoding: chunked` decoder; any split of the input works.
///
/// Strict framing: every line ends in CRLF (a bare CR or LF is [`HttpError::BadChunk`]), chunk
/// sizes are hex without leading whitespace, optionally followed by whitespace and
/// `;extensions` (ignored). The chunk-size line is bounded by [`MAX_CHUNK_LINE_BYTES`] and the
/// trailer fields (skipped, lines with their CRLF counted) by [`MAX_TRAILER_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    /// Position in the framing grammar.
    state: ChunkState,
    /// Size of the chunk whose size line is being read.
    size: u64,
    /// Whether the current size line has at least one hex digit.
    digits: bool,
    /// Bytes of the current chunk-size line so far (CRLF excluded).
    line: usize,
    /// Bytes of trailer field lines so far.
    trailer: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes as much of `input` as possible. `consumed == 0 && !done` means more input is
    /// needed. Call repeatedly, advancing the input by `consumed` each time.
    ///
    /// One call returns at most one run of data: it consumes the framing before it, the data
    /// available (up to the chunk's end), and the framing after it up to where the next chunk's
    /// data starts, so `done` comes with the last data when the input holds it. A call may
    /// consume only framing (`data` empty, `consumed > 0`); `consumed` is 0 only when `input`
    /// is empty or the body is already done. Bytes after the end of the body are never
    /// consumed. Empty `data` is `0..0`.
    pub fn decode(&mut self, input: &[u8]) -> Result<Step, HttpError> {
        let mut pos = 0;
        let mut data = 0..0;
        while let Some(&byte) = input.get(pos) {
            match self.state {
                ChunkState::Done => break,
                ChunkState::Data(left) => {
                    if !data.is_empty() {
                        break;
                    }
                    let available = input.len() - pos;
                    let n = usize::try_from(left).map_or(available, |left| left.min(available));
                    data = pos..pos + n;
                    pos += n;
                    // n <= left, both non-zero.
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data(left)
                    };
                }
                _ => {
                    self.framing(byte)?;
                    pos += 1;
                }
            }
        }
        Ok(Step {
            consumed: pos,
            data,
            done: self.is_done(),
        })
    }

    /// Advances the framing state by one byte (never called in `Data` or `Done`).
    fn framing(&mut self, b: u8) -> Result<(), HttpError> {
        use ChunkState as S;
        if matches!(self.state, S::Size | S::SizeWs | S::Ext) && b != b'\r' {
            self.line += 1;
            if self.line > MAX_CHUNK_LINE_BYTES {
                return Err(HttpError::BadChunk);
            }
        }
        if matches!(self.state, S::TrailerLine | S::TrailerLf(false))
            || (self.state == S::TrailerStart && b != b'\r')
        {
            self.trailer += 1;
            if self.trailer > MAX_TRAILER_BYTES {
                return Err(HttpError::BadChunk);
            }
        }
        if self.state == S::Size
            && let Some(digit) = char::from(b).to_digit(16)
        {
            self.size = self
                .size
                .checked_mul(16)
                .and_then(|s| s.checked_add(u64::from(digit)))
                .ok_or(HttpError::BadChunk)?;
            self.digits = true;
            return Ok(());
        }
        self.state = match (self.state, b) {
            (S::Size, b' ' | b'\t') if self.digits => S::SizeWs,
            (S::SizeWs, b' ' | b'\t') => S::SizeWs,
            (S::Size | S::SizeWs, b';') if self.digits => S::Ext,
            (S::Size | S::SizeWs | S::Ext, b'\r') if self.digits => S::SizeLf,
            (S::Ext, _) if is_field_text(b) => S::Ext,
            (S::SizeLf, b'\n') => {
                let size = self.size;
                self.size = 0;
                self.digits = false;
                self.line = 0;
                if size == 0 {
                    S::TrailerStart
                } else {
                    S::Data(size)
                }
            }
            (S::DataCr, b'\r') => S::DataLf,
            (S::DataLf, b'\n') => S::Size,
            (S::TrailerStart, b'\r') => S::TrailerLf(true),
            // A field line; a leading SP or HTAB would be obs-fold.
            (S::TrailerStart, _) if is_field_text(b) && b != b' ' && b != b'\t' => S::TrailerLine,
            (S::TrailerLine, b'\r') => S::TrailerLf(false),
            (S::TrailerLine, _) if is_field_text(b) => S::TrailerLine,
            (S::TrailerLf(false), b'\n') => S::TrailerStart,
            (S::TrailerLf(true), b'\n') => S::Done,
            _ => return Err(HttpError::BadChunk),
        };
        Ok(())
    }

    /// Whether the terminating chunk and trailers were seen.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }
}

/// Appends `data` as one chunk (`{len:x}\r\n{data}\r\n`). Empty data writes nothing, since an
/// empty chunk would end the body; end it with [`LAST_CHUNK`].
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk with no trailers: ends a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
