//! One MPEG-TS packet read field by field (ISO/IEC 13818-1 §2.4.3.2), the 90 kHz / 27 MHz
//! clock arithmetic shared by the splicer, and null packets for gaps.
//!
//! Everything takes a `&[u8]` of one packet and bounds-checks every read: a malformed packet is
//! an [`PacketError`], never a panic.

use super::scan::{PACKET, SYNC};
use bytes::BufMut;
use std::fmt;

/// The PID of the program association table.
pub const PID_PAT: u16 = 0x0000;
/// The PID of null (stuffing) packets.
pub const PID_NULL: u16 = 0x1fff;
/// The largest PID (13 bits).
pub const PID_MAX: u16 = 0x1fff;
/// The first PID free for programs: 0x0000–0x000F are reserved for tables, 0x0010–0x001F for
/// DVB/ATSC service information.
pub const PID_FIRST_PROGRAM: u16 = 0x0020;
/// Payload bytes of a packet without adaptation field.
pub const PAYLOAD_MAX: usize = PACKET - 4;

/// PTS/DTS wrap: 33-bit values in 90 kHz ticks.
pub const TS_MOD: u64 = 1 << 33;
/// PCR wrap: a 33-bit 90 kHz base times 300 plus a 9-bit 27 MHz extension.
pub const PCR_MOD: u64 = TS_MOD * 300;

/// A null packet: PID 0x1FFF, payload only (adaptation_field_control `01`), payload all 0xFF.
pub const NULL_PACKET: [u8; PACKET] = {
    let mut p = [0xff; PACKET];
    p[0] = SYNC;
    p[1] = 0x1f;
    p[2] = 0xff;
    p[3] = 0x10;
    p
};

/// Why a packet was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// Not exactly [`PACKET`] bytes.
    Length,
    /// The first byte is not [`SYNC`].
    Sync,
    /// adaptation_field_control `00` (reserved).
    ReservedControl,
    /// The adaptation field length does not fit the packet (or is not 183 for an
    /// adaptation-only packet).
    AdaptationLength,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PacketError::Length => "TS packet is not 188 bytes",
            PacketError::Sync => "TS packet does not start with the sync byte",
            PacketError::ReservedControl => "TS packet has reserved adaptation_field_control 00",
            PacketError::AdaptationLength => "TS adaptation field length does not fit the packet",
        })
    }
}

impl std::error::Error for PacketError {}

/// The fields of one packet's header and adaptation field that the splicer acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// transport_error_indicator: the packet is known to be damaged.
    pub error: bool,
    /// payload_unit_start_indicator: a PES or a PSI section starts in this payload.
    pub pusi: bool,
    /// The 13-bit packet identifier.
    pub pid: u16,
    /// transport_scrambling_control (0 = clear).
    pub scrambling: u8,
    /// The packet carries an adaptation field (control `10` or `11`).
    pub has_adaptation: bool,
    /// The packet carries a payload (control `01` or `11`).
    pub has_payload: bool,
    /// continuity_counter.
    pub cc: u8,
    /// adaptation_field_length (0 when there is no adaptation field).
    pub adaptation_len: u8,
    /// discontinuity_indicator of the adaptation field.
    pub discontinuity: bool,
    /// random_access_indicator of the adaptation field.
    pub random_access: bool,
    /// The program clock reference in 27 MHz ticks, when the adaptation field carries one.
    pub pcr: Option<u64>,
    /// Where the payload starts in the packet ([`PACKET`] when there is none).
    pub payload_at: usize,
}

impl Header {
    /// Reads the header of one packet.
    pub fn parse(p: &[u8]) -> Result<Header, PacketError> {
        let p: &[u8; PACKET] = p.try_into().map_err(|_| PacketError::Length)?;
        if p[0] != SYNC {
            return Err(PacketError::Sync);
        }
        let afc = (p[3] >> 4) & 0x3;
        if afc == 0 {
            return Err(PacketError::ReservedControl);
        }
        let has_adaptation = afc & 0x2 != 0;
        let has_payload = afc & 0x1 != 0;
        let mut h = Header {
            error: p[1] & 0x80 != 0,
            pusi: p[1] & 0x40 != 0,
            pid: (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]),
            scrambling: p[3] >> 6,
            has_adaptation,
            has_payload,
            cc: p[3] & 0x0f,
            adaptation_len: 0,
            discontinuity: false,
            random_access: false,
            pcr: None,
            payload_at: if has_payload { 4 } else { PACKET },
        };
        if has_adaptation {
            let len = p[4];
            let fits = if has_payload {
                usize::from(len) <= PAYLOAD_MAX - 2
            } else {
                usize::from(len) == PAYLOAD_MAX - 1
            };
            if !fits {
                return Err(PacketError::AdaptationLength);
            }
            h.adaptation_len = len;
            if has_payload {
                h.payload_at = 5 + usize::from(len);
            }
            if len > 0 {
                let flags = p[5];
                h.discontinuity = flags & 0x80 != 0;
                h.random_access = flags & 0x40 != 0;
                if flags & 0x10 != 0 && len >= 7 {
                    h.pcr = Some(read_pcr(&p[6..12]));
                }
            }
        }
        Ok(h)
    }

    /// The payload of `p` (the packet this header was read from).
    pub fn payload<'a>(&self, p: &'a [u8]) -> &'a [u8] {
        p.get(self.payload_at..).unwrap_or(&[])
    }
}

/// Reads a 6-byte PCR field: 33-bit base, 6 reserved bits, 9-bit extension → 27 MHz ticks.
pub fn read_pcr(b: &[u8]) -> u64 {
    let Some(b) = b.get(..6) else {
        return 0;
    };
    let base = (u64::from(b[0]) << 25)
        | (u64::from(b[1]) << 17)
        | (u64::from(b[2]) << 9)
        | (u64::from(b[3]) << 1)
        | (u64::from(b[4]) >> 7);
    let ext = (u64::from(b[4] & 0x01) << 8) | u64::from(b[5]);
    base * 300 + ext
}

/// Writes a PCR in 27 MHz ticks (taken mod [`PCR_MOD`]) into a 6-byte field (reserved bits 1).
pub fn write_pcr(b: &mut [u8], pcr: u64) {
    let Some(b) = b.get_mut(..6) else {
        return;
    };
    let pcr = pcr % PCR_MOD;
    let base = pcr / 300;
    let ext = pcr % 300;
    b[0] = (base >> 25) as u8;
    b[1] = (base >> 17) as u8;
    b[2] = (base >> 9) as u8;
    b[3] = (base >> 1) as u8;
    b[4] = (((base & 1) as u8) << 7) | 0x7e | ((ext >> 8) as u8 & 1);
    b[5] = ext as u8;
}

/// `a - b` for 33-bit timestamps, as the signed distance of least magnitude (so 1 follows
/// 2^33 - 1).
pub fn ts_diff(a: u64, b: u64) -> i64 {
    let d = a.wrapping_sub(b) % TS_MOD;
    if d >= TS_MOD / 2 {
        d as i64 - TS_MOD as i64
    } else {
        d as i64
    }
}

/// `t + d` for 33-bit timestamps (`d` may be negative).
pub fn ts_add(t: u64, d: i64) -> u64 {
    (t as i64).wrapping_add(d).rem_euclid(TS_MOD as i64) as u64
}

/// `a - b` for 27 MHz PCRs (wrap [`PCR_MOD`]), as the signed distance of least magnitude.
pub fn pcr_diff(a: u64, b: u64) -> i64 {
    let d = (a % PCR_MOD + PCR_MOD - b % PCR_MOD) % PCR_MOD;
    if d >= PCR_MOD / 2 {
        d as i64 - PCR_MOD as i64
    } else {
        d as i64
    }
}

/// Appends `n` null packets.
pub fn null_packets(n: usize, out: &mut impl BufMut) {
    for _ in 0..n {
        out.put_slice(&NULL_PACKET);
    }
}

/// Sets the continuity counter of a packet in place.
pub fn set_cc(p: &mut [u8], cc: u8) {
    if let Some(b) = p.get_mut(3) {
        *b = (*b & 0xf0) | (cc & 0x0f);
    }
}

/// Sets the PID of a packet in place (keeping the error and start bits).
pub fn set_pid(p: &mut [u8], pid: u16) {
    if let Some(b) = p.get_mut(1..3) {
        b[0] = (b[0] & 0xe0) | ((pid >> 8) as u8 & 0x1f);
        b[1] = pid as u8;
    }
}

/// An adaptation-field-only packet (control `10`, 183 bytes of field) on `pid` with the given
/// flags byte and the rest stuffing: carries a discontinuity_indicator ahead of a packet that
/// has no adaptation field of its own. Its continuity counter does not advance (§2.4.3.3).
pub fn adaptation_only(pid: u16, flags: u8, cc: u8) -> [u8; PACKET] {
    let mut p = [0xff; PACKET];
    p[0] = SYNC;
    p[1] = (pid >> 8) as u8 & 0x1f;
    p[2] = pid as u8;
    p[3] = 0x20 | (cc & 0x0f);
    p[4] = (PAYLOAD_MAX - 1) as u8;
    p[5] = flags;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn null_packet_is_conformant() {
        let h = Header::parse(&NULL_PACKET).unwrap();
        assert_eq!(h.pid, PID_NULL);
        assert!(h.has_payload && !h.has_adaptation);
        assert!(NULL_PACKET[4..].iter().all(|&b| b == 0xff));
        let mut out = Vec::new();
        null_packets(3, &mut out);
        assert_eq!(out.len(), 3 * PACKET);
        assert!(out.chunks(PACKET).all(|p| p == NULL_PACKET));
    }

    #[test]
    fn header_fields() {
        let mut p = [0u8; PACKET];
        p[..4].copy_from_slice(&[SYNC, 0x41, 0x00, 0x37]);
        p[4] = 7;
        p[5] = 0x50;
        write_pcr(&mut p[6..12], 123_456_789);
        let h = Header::parse(&p).unwrap();
        assert!(h.pusi && !h.error);
        assert_eq!(
            (h.pid, h.cc, h.adaptation_len, h.payload_at),
            (0x100, 7, 7, 12)
        );
        assert!(h.random_access && !h.discontinuity);
        assert_eq!(h.pcr, Some(123_456_789));
        p[4] = 183;
        assert_eq!(Header::parse(&p), Err(PacketError::AdaptationLength));
        p[3] = 0x20;
        assert!(Header::parse(&p).is_ok());
        p[3] = 0x00;
        assert_eq!(Header::parse(&p), Err(PacketError::ReservedControl));
        assert_eq!(Header::parse(&p[..187]), Err(PacketError::Length));
    }

    #[test]
    fn clock_arithmetic_wraps() {
        assert_eq!(ts_diff(1, TS_MOD - 1), 2);
        assert_eq!(ts_diff(TS_MOD - 1, 1), -2);
        assert_eq!(ts_add(TS_MOD - 1, 2), 1);
        assert_eq!(ts_add(1, -2), TS_MOD - 1);
        assert_eq!(pcr_diff(5, PCR_MOD - 5), 10);
    }

    #[test]
    fn adaptation_only_packet_parses() {
        let p = adaptation_only(0x101, 0x80, 9);
        let h = Header::parse(&p).unwrap();
        assert!(h.discontinuity && !h.has_payload && h.has_adaptation);
        assert_eq!((h.pid, h.cc), (0x101, 9));
    }

    proptest! {
        #[test]
        fn pcr_round_trips(pcr in 0..PCR_MOD) {
            let mut b = [0u8; 6];
            write_pcr(&mut b, pcr);
            prop_assert_eq!(read_pcr(&b), pcr);
        }

        #[test]
        fn header_never_panics(p in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(h) = Header::parse(&p) {
                prop_assert!(h.payload_at <= PACKET);
                let _ = h.payload(&p);
            }
        }
    }
}
