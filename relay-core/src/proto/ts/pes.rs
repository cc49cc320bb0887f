//! The start of a PES packet (ISO/IEC 13818-1 §2.4.3.6) as it appears in the first TS packet of
//! a PES: stream id, length, PTS and DTS read and rewritten in place, and whether the elementary
//! stream data that follows starts a random-access point (H.264 IDR/SPS, HEVC IRAP/parameter
//! sets, MPEG-2 sequence header).

use super::packet::{TS_MOD, ts_add};
use super::psi::VideoCodec;
use std::fmt;

/// Bytes of the fixed PES header: start code (3), stream_id, PES_packet_length (2), two flag
/// bytes, PES_header_data_length.
pub const PES_FIXED: usize = 9;
/// Bytes from the PES start to the end of a DTS (PTS and DTS both present).
pub const PES_TIMESTAMPS_END: usize = PES_FIXED + 10;

/// Why the start of a payload is not a PES header the splicer can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PesError {
    /// No `00 00 01` start code.
    StartCode,
    /// The header (up to its timestamps) does not fit this packet's payload.
    Split,
    /// PTS_DTS_flags `01` (forbidden) or a header_data_length too short for the flags.
    Flags,
}

impl fmt::Display for PesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PesError::StartCode => "PES packet lacks the 00 00 01 start code",
            PesError::Split => "PES header timestamps do not fit the first TS packet",
            PesError::Flags => "PES header flags are inconsistent",
        })
    }
}

impl std::error::Error for PesError {}

/// The parts of a PES header the splicer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PesHeader {
    /// stream_id.
    pub stream_id: u8,
    /// PES_packet_length: bytes after this field, 0 = unbounded (video).
    pub length: u16,
    /// Presentation timestamp (90 kHz, 33 bits).
    pub pts: Option<u64>,
    /// Decoding timestamp (90 kHz, 33 bits), when it differs from the PTS.
    pub dts: Option<u64>,
    /// Where the elementary stream data starts, counted from the PES start (may lie beyond
    /// this packet).
    pub data_at: usize,
}

impl PesHeader {
    /// The DTS, or the PTS when there is no separate DTS.
    pub fn decode_time(&self) -> Option<u64> {
        self.dts.or(self.pts)
    }

    /// The total PES size in bytes when PES_packet_length bounds it.
    pub fn total(&self) -> Option<usize> {
        (self.length != 0).then(|| 6 + usize::from(self.length))
    }
}

/// Stream ids whose PES packets have no optional header (and so no timestamps): program stream
/// map, padding, private_stream_2, ECM, EMM, program stream directory, DSM-CC, H.222.1 type E.
fn bare(stream_id: u8) -> bool {
    matches!(
        stream_id,
        0xbc | 0xbe | 0xbf | 0xf0 | 0xf1 | 0xff | 0xf2 | 0xf8
    )
}

/// Reads a 5-byte PTS/DTS field (marker bits are not checked: some muxers get them wrong).
pub fn read_timestamp(b: &[u8]) -> Option<u64> {
    let b = b.get(..5)?;
    Some(
        (u64::from((b[0] >> 1) & 0x07) << 30)
            | (u64::from(b[1]) << 22)
            | (u64::from(b[2] >> 1) << 15)
            | (u64::from(b[3]) << 7)
            | u64::from(b[4] >> 1),
    )
}

/// Writes a PTS/DTS value (mod 2^33) into a 5-byte field, keeping its 4-bit prefix and setting
/// the marker bits.
pub fn write_timestamp(b: &mut [u8], v: u64) {
    let Some(b) = b.get_mut(..5) else {
        return;
    };
    let v = v % TS_MOD;
    b[0] = (b[0] & 0xf0) | ((v >> 29) as u8 & 0x0e) | 1;
    b[1] = (v >> 22) as u8;
    b[2] = ((v >> 14) as u8 & 0xfe) | 1;
    b[3] = (v >> 7) as u8;
    b[4] = ((v << 1) as u8 & 0xfe) | 1;
}

/// Reads the PES header at the start of `payload` (the payload of a TS packet with
/// payload_unit_start set).
pub fn parse(payload: &[u8]) -> Result<PesHeader, PesError> {
    let Some(&[0, 0, 1, stream_id, l1, l2]) = payload.get(..6) else {
        return Err(if payload.len() < 6 && [0, 0, 1].starts_with(payload) {
            PesError::Split
        } else {
            PesError::StartCode
        });
    };
    let length = u16::from_be_bytes([l1, l2]);
    if bare(stream_id) {
        return Ok(PesHeader {
            stream_id,
            length,
            pts: None,
            dts: None,
            data_at: 6,
        });
    }
    let &[_, flags, hlen] = payload.get(6..PES_FIXED).ok_or(PesError::Split)? else {
        return Err(PesError::Split);
    };
    let data_at = PES_FIXED + usize::from(hlen);
    let (pts, dts) = match flags >> 6 {
        0b00 => (None, None),
        0b10 => {
            if hlen < 5 {
                return Err(PesError::Flags);
            }
            let pts = read_timestamp(payload.get(9..14).ok_or(PesError::Split)?);
            (pts, None)
        }
        0b11 => {
            if hlen < 10 {
                return Err(PesError::Flags);
            }
            let both = payload.get(9..19).ok_or(PesError::Split)?;
            (read_timestamp(&both[..5]), read_timestamp(&both[5..]))
        }
        _ => return Err(PesError::Flags),
    };
    Ok(PesHeader {
        stream_id,
        length,
        pts,
        dts,
        data_at,
    })
}

/// Adds `offset` ticks (mod 2^33) to the PTS and DTS of the PES header at the start of
/// `payload`, in place. `h` must be what [`parse`] returned for this payload.
pub fn shift(payload: &mut [u8], h: &PesHeader, offset: i64) {
    if let (Some(pts), Some(b)) = (h.pts, payload.get_mut(9..)) {
        write_timestamp(b, ts_add(pts, offset));
    }
    if let (Some(dts), Some(b)) = (h.dts, payload.get_mut(14..)) {
        write_timestamp(b, ts_add(dts, offset));
    }
}

/// Whether elementary stream bytes (the start of a PES payload) begin a random-access point:
/// an H.264 IDR slice or SPS, an HEVC IRAP picture or VPS/SPS/PPS, an MPEG-2 sequence header,
/// found before the first non-key picture. Only the bytes given are searched.
pub fn starts_keyframe(es: &[u8], codec: VideoCodec) -> bool {
    let mut i = 0;
    while let Some(pos) = memchr::memmem::find(&es[i..], &[0, 0, 1]) {
        let at = i + pos + 3;
        let Some(&code) = es.get(at) else {
            return false;
        };
        match codec {
            VideoCodec::H264 => match code & 0x1f {
                5 | 7 => return true,
                // A non-IDR slice: this picture is not a random-access point.
                1 => return false,
                _ => {}
            },
            VideoCodec::Hevc => match (code >> 1) & 0x3f {
                16..=21 | 32..=34 => return true,
                0..=9 => return false,
                _ => {}
            },
            VideoCodec::Mpeg2 => match code {
                0xb3 => return true,
                0x00 => return false,
                _ => {}
            },
            VideoCodec::Other => return false,
        }
        i = at;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pes(pts: u64, dts: Option<u64>) -> Vec<u8> {
        let mut p = vec![0, 0, 1, 0xe0, 0, 0, 0x80];
        match dts {
            Some(_) => p.extend_from_slice(&[0xc0, 10]),
            None => p.extend_from_slice(&[0x80, 5]),
        }
        let mut t = [0x21, 0, 1, 0, 1];
        if dts.is_some() {
            t[0] = 0x31;
        }
        write_timestamp(&mut t, pts);
        p.extend_from_slice(&t);
        if let Some(d) = dts {
            let mut t = [0x11, 0, 1, 0, 1];
            write_timestamp(&mut t, d);
            p.extend_from_slice(&t);
        }
        p.extend_from_slice(&[0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0x88]);
        p
    }

    #[test]
    fn reads_and_shifts_timestamps() {
        let mut p = pes(TS_MOD - 10, Some(TS_MOD - 3010));
        let h = parse(&p).unwrap();
        assert_eq!(
            (h.pts, h.dts, h.data_at),
            (Some(TS_MOD - 10), Some(TS_MOD - 3010), 19)
        );
        shift(&mut p, &h, 20);
        let h2 = parse(&p).unwrap();
        assert_eq!((h2.pts, h2.dts), (Some(10), Some(TS_MOD - 2990)));
        assert_eq!(p[9] & 0xf0, 0x30);
        assert_eq!(p[14] & 0xf0, 0x10);
        assert!(starts_keyframe(&p[h.data_at..], VideoCodec::H264));
    }

    #[test]
    fn split_and_bad_headers() {
        let p = pes(1000, Some(900));
        assert_eq!(parse(&p[..15]), Err(PesError::Split));
        assert_eq!(parse(&p[..2]), Err(PesError::Split));
        assert_eq!(parse(&[0, 1, 0, 0xe0, 0, 0]), Err(PesError::StartCode));
        let mut bad = p.clone();
        bad[7] = 0x40;
        assert_eq!(parse(&bad), Err(PesError::Flags));
        let padding = [0, 0, 1, 0xbe, 0, 4, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(parse(&padding).unwrap().pts, None);
    }

    #[test]
    fn keyframes_by_codec() {
        let h264_p = [0, 0, 0, 1, 0x09, 0x30, 0, 0, 1, 0x41, 0x9a, 0, 0, 1, 0x65];
        assert!(!starts_keyframe(&h264_p, VideoCodec::H264));
        let h264_sps = [0, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 1, 0x67, 0x64];
        assert!(starts_keyframe(&h264_sps, VideoCodec::H264));
        let hevc_idr = [0, 0, 0, 1, 0x46, 0x01, 0x10, 0, 0, 1, 0x26, 0x01];
        assert!(starts_keyframe(&hevc_idr, VideoCodec::Hevc));
        let hevc_trail = [0, 0, 0, 1, 0x46, 0x01, 0x10, 0, 0, 1, 0x02, 0x01];
        assert!(!starts_keyframe(&hevc_trail, VideoCodec::Hevc));
        assert!(starts_keyframe(&[0, 0, 1, 0xb3, 0x14], VideoCodec::Mpeg2));
        assert!(!starts_keyframe(&[0, 0, 1, 0x00, 0x14], VideoCodec::Mpeg2));
        assert!(!starts_keyframe(&h264_sps, VideoCodec::Other));
    }

    proptest! {
        #[test]
        fn timestamps_round_trip(v in 0..TS_MOD, prefix in 0u8..16) {
            let mut b = [prefix << 4, 0, 0, 0, 0];
            write_timestamp(&mut b, v);
            prop_assert_eq!(read_timestamp(&b), Some(v));
            prop_assert_eq!(b[0] >> 4, prefix);
            prop_assert_eq!(b[0] & 1 & b[2] & b[4], 1);
        }

        #[test]
        fn never_panics(mut data in proptest::collection::vec(any::<u8>(), 0..64), off in any::<i64>()) {
            if data.len() >= 3 {
                data[..3].copy_from_slice(&[0, 0, 1]);
            }
            if let Ok(h) = parse(&data) {
                shift(&mut data, &h, off % TS_MOD as i64);
            }
            let _ = starts_keyframe(&data, VideoCodec::H264);
            let _ = starts_keyframe(&data, VideoCodec::Hevc);
            let _ = starts_keyframe(&data, VideoCodec::Mpeg2);
        }
    }
}
