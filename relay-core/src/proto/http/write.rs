//! Head serialisation: status lines, request lines, header fields.

use super::is_field_text;
use std::fmt::Write as _;

/// The standard reason phrase of a status code (`"Unknown"` for unregistered codes).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "Unknown",
    }
}

/// Serialises a request or response head. Header values containing CR or LF are refused
/// (header injection); names must be tokens.
#[derive(Debug, Clone)]
pub struct HeadWriter {
    /// The head written so far, start line first.
    buf: Vec<u8>,
}

impl HeadWriter {
    /// `HTTP/1.1 {status} {reason}\r\n`. A status outside 100..=999 cannot be written as three
    /// digits and is written as 500.
    pub fn response(status: u16) -> Self {
        let status = if (100..=999).contains(&status) {
            status
        } else {
            500
        };
        let mut line = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(line, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
        HeadWriter {
            buf: line.into_bytes(),
        }
    }

    /// `{method} {target} HTTP/1.1\r\n`.
    ///
    /// Never writes a broken request line: bytes of `method` that are not token characters are
    /// dropped (an empty result becomes `GET`), and control bytes, space and non-ASCII bytes of
    /// `target` are percent-encoded (`%0D`, `%20`, ...). An empty target becomes `/`.
    pub fn request(method: &str, target: &str) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend(method.bytes().filter(|&b| is_tchar(b)));
        if buf.is_empty() {
            buf.extend_from_slice(b"GET");
        }
        buf.push(b' ');
        if target.is_empty() {
            buf.push(b'/');
        }
        for b in target.bytes() {
            if b <= b' ' || b >= 0x7f {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                buf.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            } else {
                buf.push(b);
            }
        }
        buf.extend_from_slice(b" HTTP/1.1\r\n");
        HeadWriter { buf }
    }

    /// Appends one header field. A value with CR, LF or NUL, or a name that is not a token, is
    /// skipped (never written) and reported with `false`. Other control bytes (all but HTAB)
    /// are refused too, since a strict peer would reject the whole head for them.
    pub fn header(&mut self, name: &str, value: impl AsRef<[u8]>) -> bool {
        let value = value.as_ref();
        let name_ok = !name.is_empty() && name.bytes().all(is_tchar);
        let value_ok = value.iter().all(|&b| is_field_text(b));
        if !(name_ok && value_ok) {
            return false;
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
        true
    }

    /// Ends the head with the blank line and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(b"\r\n");
        self.buf
    }
}

/// An RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
