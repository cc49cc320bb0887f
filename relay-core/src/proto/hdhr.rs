//! HDHomeRun tuner emulation, the pure part: device ids with libhdhomerun's check digit, and the
//! bodies of `/discover.json`, `/lineup.json`, `/lineup_status.json` and `/device.xml` as Plex,
//! Jellyfin and Emby read them. No I/O: the caller brings the id (and the randomness to make
//! one), the public base URL and the lineup; `server::routes::hdhr` serves what these return.
//!
//! Field names and JSON types follow the real devices: `TunerCount` is an integer, `GuideNumber`
//! a string (`"5"` or `"5.1"`), every URL absolute. Jellyfin reads `HD` and `Favorite` as
//! booleans or numbers and a missing one as false; the devices send `1` only when it holds.

use std::fmt;
use std::str::FromStr;

use super::json::write_str;

/// `Manufacturer` in `/discover.json`: clients check it names Silicondust.
pub const MANUFACTURER: &str = "Silicondust";
/// `ModelNumber`: an HDHomeRun CONNECT (ATSC), the model tuner emulators commonly report. Its
/// `hdtc` prefix also tells Jellyfin the tuner takes `?transcode=`, which the routes accept and
/// ignore.
pub const MODEL_NUMBER: &str = "HDTC-2US";
/// `FirmwareName` that goes with [`MODEL_NUMBER`].
pub const FIRMWARE_NAME: &str = "hdhomeruntc_atsc";
/// `FirmwareVersion`, in the devices' `YYYYMMDD` form.
pub const FIRMWARE_VERSION: &str = "20250101";
/// `DeviceAuth`: real devices put a token for Silicondust's guide service here; no client of the
/// relay uses that service through it, so any constant does.
pub const DEVICE_AUTH: &str = "relay";
/// The most tuners `/discover.json` reports (the count is one byte in the discovery protocol).
pub const MAX_TUNER_COUNT: u32 = 255;
/// The longest `GuideNumber` [`is_guide_number`] accepts.
pub const MAX_GUIDE_NUMBER_BYTES: usize = 16;
/// The device id that means "any device" in libhdhomerun; it passes the check digit but no
/// device may have it.
pub const DEVICE_ID_WILDCARD: u32 = 0xFFFF_FFFF;

/// libhdhomerun's substitution for the odd nibbles of a device id (a permutation of 0..16, so a
/// change of any single nibble changes the check).
const CHECK_TABLE: [u8; 16] = [
    0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0,
];

/// The check over all eight nibbles, most significant first: the 1st, 3rd, 5th and 7th go
/// through [`CHECK_TABLE`], the others count as they are, all XORed; 0 for a valid id.
fn check(id: u32) -> u8 {
    (0..8).fold(0, |acc, i| {
        let nibble = ((id >> (28 - 4 * i)) & 0xF) as u8;
        acc ^ if i % 2 == 0 {
            CHECK_TABLE[usize::from(nibble)]
        } else {
            nibble
        }
    })
}

/// Whether `id` passes libhdhomerun's check digit (`hdhomerun_discover_validate_device_id`).
/// Clients that validate ids drop a device whose id fails it. The reserved 0 and
/// [`DEVICE_ID_WILDCARD`] pass it; [`DeviceId::new`] refuses them.
pub fn checksum_ok(id: u32) -> bool {
    check(id) == 0
}

/// Why a device id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceIdError {
    /// Not exactly eight characters.
    Length,
    /// A character that is not a hex digit.
    NotHex,
    /// The last hex digit is not the check digit of the first seven.
    Checksum,
    /// `00000000` or `FFFFFFFF` (the wildcard).
    Reserved,
}

impl fmt::Display for DeviceIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceIdError::Length => "a device id is 8 hex digits",
            DeviceIdError::NotHex => "a device id is made of hex digits only",
            DeviceIdError::Checksum => "the device id's last digit is not its check digit",
            DeviceIdError::Reserved => "00000000 and FFFFFFFF are not device ids",
        })
    }
}

impl std::error::Error for DeviceIdError {}

/// An HDHomeRun device id: 32 bits whose last hex digit is libhdhomerun's check digit, neither
/// 0 nor the wildcard. Shown as eight upper-case hex digits, as the devices show theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceId(u32);

impl DeviceId {
    /// A new id from 32 random bits (the caller's randomness, e.g. `ring::rand`): the first hex
    /// digit is 1, as on Silicondust's own devices (which also keeps it clear of the reserved
    /// values), the next six come from `random`, the last is the check digit.
    pub fn from_random(random: u32) -> DeviceId {
        let high = 0x1000_0000 | (random & 0x0FFF_FFF0);
        DeviceId(high | u32::from(check(high)))
    }

    /// `id` when it passes the check digit and is not reserved.
    pub fn new(id: u32) -> Result<DeviceId, DeviceIdError> {
        if id == 0 || id == DEVICE_ID_WILDCARD {
            Err(DeviceIdError::Reserved)
        } else if !checksum_ok(id) {
            Err(DeviceIdError::Checksum)
        } else {
            Ok(DeviceId(id))
        }
    }

    /// Parses eight hex digits (either case), e.g. from the configuration or the state file.
    pub fn parse(s: &str) -> Result<DeviceId, DeviceIdError> {
        if s.len() != 8 {
            return Err(DeviceIdError::Length);
        }
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DeviceIdError::NotHex);
        }
        // Eight hex digits always fit in a u32.
        let id = u32::from_str_radix(s, 16).map_err(|_| DeviceIdError::NotHex)?;
        DeviceId::new(id)
    }

    /// The id as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

impl FromStr for DeviceId {
    type Err = DeviceIdError;
    fn from_str(s: &str) -> Result<DeviceId, DeviceIdError> {
        DeviceId::parse(s)
    }
}

/// What `/discover.json` and `/device.xml` describe: one emulated device.
#[derive(Clone, Copy, Debug)]
pub struct Device<'a> {
    /// `FriendlyName`: what Plex and Jellyfin show for the tuner.
    pub friendly_name: &'a str,
    /// `DeviceID`. Plex and Jellyfin key the tuner's settings and channel mappings on it, so it
    /// must stay the same across restarts (kept in the state directory or set in config).
    pub device_id: DeviceId,
    /// The device's absolute base URL as clients reach it (`http://192.168.1.5:8080`, or with a
    /// path for a view's own device: `http://tv.lan/hdhr/sports`); a trailing `/` is ignored.
    /// Clients resolve nothing themselves: `BaseURL`, `LineupURL` and every channel `URL` are
    /// built from it.
    pub base_url: &'a str,
    /// `TunerCount`: how many streams the client opens at once before it stops offering the
    /// tuner. Reported between 1 and [`MAX_TUNER_COUNT`] (Jellyfin takes 0 as "no limit", Plex
    /// offers no tuner).
    pub tuner_count: u32,
}

impl Device<'_> {
    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

/// One channel of `/lineup.json`.
#[derive(Clone, Copy, Debug)]
pub struct LineupEntry<'a> {
    /// `GuideNumber`: the channel number clients show and map guide data by; it must stay the
    /// same across refreshes (see [`is_guide_number`]).
    pub guide_number: &'a str,
    /// `GuideName`: the channel's name.
    pub guide_name: &'a str,
    /// `URL`: absolute, with no query of its own: Jellyfin appends `?transcode=…` by string
    /// concatenation (see [`tuner_url`]).
    pub url: &'a str,
    /// `HD`: sent as `1` when set, left out otherwise (as the devices do).
    pub hd: bool,
    /// `Favorite`: sent as `1` when set, left out otherwise; Jellyfin can import favourites only.
    pub favorite: bool,
    /// `VideoCodec` when known, in the devices' spelling (`MPEG2`, `H264`, `HEVC`).
    pub video_codec: Option<&'a str>,
    /// `AudioCodec` when known (`AC3`, `AAC`, `MPEG`).
    pub audio_codec: Option<&'a str>,
}

/// Whether `s` can be a `GuideNumber`: digits, optionally `.` and more digits (a subchannel, as
/// `5.1`), at most [`MAX_GUIDE_NUMBER_BYTES`]. Clients sort and match on it as a number, so a
/// `tvg-chno` that fails this needs a number of the relay's own.
pub fn is_guide_number(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    s.len() <= MAX_GUIDE_NUMBER_BYTES
        && match s.split_once('.') {
            Some((major, minor)) => digits(major) && digits(minor),
            None => digits(s),
        }
}

/// The URL a tuner client plays a channel at: `{base}/auto/v{guide_number}`, as on the devices.
pub fn tuner_url(base_url: &str, guide_number: &str) -> String {
    format!("{}/auto/v{guide_number}", base_url.trim_end_matches('/'))
}

/// The body of `GET /discover.json`.
pub fn discover_json(device: &Device<'_>) -> String {
    let base = device.base();
    let mut out = String::with_capacity(320 + 2 * base.len());
    let mut field = |name: &str, value: &str| {
        out.push_str(if out.is_empty() { "{\"" } else { ",\"" });
        out.push_str(name);
        out.push_str("\":");
        write_str(&mut out, value);
    };
    field("FriendlyName", device.friendly_name);
    field("Manufacturer", MANUFACTURER);
    field("ModelNumber", MODEL_NUMBER);
    field("FirmwareName", FIRMWARE_NAME);
    field("FirmwareVersion", FIRMWARE_VERSION);
    field("DeviceID", &device.device_id.to_string());
    field("DeviceAuth", DEVICE_AUTH);
    field("BaseURL", base);
    field("LineupURL", &format!("{base}/lineup.json"));
    let tuners = device.tuner_count.clamp(1, MAX_TUNER_COUNT);
    out.push_str(&format!(",\"TunerCount\":{tuners}}}"));
    out
}

/// The body of `GET /lineup.json` (and `?show=found`): the channels, in the order given.
pub fn lineup_json(entries: &[LineupEntry<'_>]) -> String {
    let mut out = String::with_capacity(2 + entries.len() * 160);
    out.push('[');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"GuideNumber\":");
        write_str(&mut out, e.guide_number);
        out.push_str(",\"GuideName\":");
        write_str(&mut out, e.guide_name);
        for (name, value) in [("VideoCodec", e.video_codec), ("AudioCodec", e.audio_codec)] {
            if let Some(v) = value {
                out.push_str(&format!(",\"{name}\":"));
                write_str(&mut out, v);
            }
        }
        if e.hd {
            out.push_str(",\"HD\":1");
        }
        if e.favorite {
            out.push_str(",\"Favorite\":1");
        }
        out.push_str(",\"URL\":");
        write_str(&mut out, e.url);
        out.push('}');
    }
    out.push(']');
    out
}

/// The body of `GET /lineup_status.json`: not scanning, a scan possible (Plex asks for one with
/// `POST /lineup.post?scan=start`, which is accepted and changes nothing: the lineup is the
/// catalog).
pub fn lineup_status_json() -> &'static str {
    r#"{"ScanInProgress":0,"ScanPossible":1,"Source":"Cable","SourceList":["Cable"]}"#
}

/// The body of `GET /device.xml`: the UPnP device description (Plex reads it when it finds the
/// tuner by address).
pub fn device_xml(device: &Device<'_>) -> String {
    let base = device.base();
    let id = device.device_id.to_string();
    let mut out = String::with_capacity(640 + base.len() + device.friendly_name.len());
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n\
         <specVersion><major>1</major><minor>0</minor></specVersion>\n<URLBase>",
    );
    write_xml_text(&mut out, base);
    out.push_str(
        "</URLBase>\n<device>\n\
         <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>\n<friendlyName>",
    );
    write_xml_text(&mut out, device.friendly_name);
    out.push_str(&format!(
        "</friendlyName>\n<manufacturer>{MANUFACTURER}</manufacturer>\n\
         <modelName>{MODEL_NUMBER}</modelName>\n<modelNumber>{MODEL_NUMBER}</modelNumber>\n\
         <serialNumber>{id}</serialNumber>\n<UDN>uuid:{id}</UDN>\n</device>\n</root>\n"
    ));
    out
}

/// Appends `s` as XML character data: `&`, `<`, `>`, `"` and `'` as entities, and the control
/// characters XML 1.0 forbids (all below U+0020 but tab, newline and carriage return) dropped.
fn write_xml_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// libhdhomerun's check, written out nibble by nibble with its own copy of the table (the
    /// reference the folded `check` and `CHECK_TABLE` must agree with).
    fn reference_valid(id: u32) -> bool {
        const TABLE: [u32; 16] = [10, 5, 15, 6, 7, 12, 1, 11, 9, 2, 8, 13, 4, 3, 14, 0];
        let t = |shift: u32| TABLE[((id >> shift) & 0xF) as usize];
        let r = |shift: u32| (id >> shift) & 0xF;
        (t(28) ^ r(24) ^ t(20) ^ r(16) ^ t(12) ^ r(8) ^ t(4) ^ r(0)) == 0
    }

    fn device(base: &str) -> Device<'_> {
        Device {
            friendly_name: "relay \"TV\" & <more>",
            device_id: DeviceId::from_random(0xDEAD_BEEF),
            base_url: base,
            tuner_count: 4,
        }
    }

    #[test]
    fn check_table_is_a_permutation() {
        let mut seen = [false; 16];
        for v in CHECK_TABLE {
            seen[usize::from(v)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn known_ids() {
        // by hand: table[1] = 5; ^0 = 5; ^table[2] (F) = A; ^3 = 9; ^table[4] (7) = E; ^5 = B;
        // ^table[6] (1) = A; ^0 = A: the check digit of 1023456_ is A
        assert_eq!(check(0x1023_4560), 0xA);
        assert!(checksum_ok(0x1023_456A));
        assert!(!checksum_ok(0x1023_4565));
        assert_eq!(DeviceId::parse("1023456A").unwrap().get(), 0x1023_456A);
        assert_eq!(DeviceId::parse("1023456a").unwrap().get(), 0x1023_456A);
        assert_eq!(DeviceId::parse("10234565"), Err(DeviceIdError::Checksum));
        // the reserved values pass the check digit but are refused
        assert!(checksum_ok(0) && checksum_ok(DEVICE_ID_WILDCARD));
        assert_eq!(DeviceId::new(0), Err(DeviceIdError::Reserved));
        assert_eq!(DeviceId::parse("FFFFFFFF"), Err(DeviceIdError::Reserved));
        assert_eq!(DeviceId::parse("ffffffff"), Err(DeviceIdError::Reserved));
        assert_eq!(DeviceId::parse("1023456"), Err(DeviceIdError::Length));
        assert_eq!(DeviceId::parse("102345655"), Err(DeviceIdError::Length));
        assert_eq!(DeviceId::parse("+023456A"), Err(DeviceIdError::NotHex));
        assert_eq!(DeviceId::parse("1023 56A"), Err(DeviceIdError::NotHex));
        assert_eq!(DeviceId::parse("1023456é"), Err(DeviceIdError::Length));
        assert_eq!(
            DeviceId::from_random(0xF023_456F).to_string(),
            "1023456A",
            "first digit 1, the six random digits, the check digit"
        );
        assert_eq!(
            "1023456a".parse::<DeviceId>().unwrap().to_string(),
            "1023456A"
        );
    }

    proptest! {
        #[test]
        fn generated_ids_validate(random in any::<u32>()) {
            let id = DeviceId::from_random(random);
            prop_assert!(checksum_ok(id.get()));
            prop_assert!(reference_valid(id.get()));
            prop_assert_eq!(id.get() >> 28, 1);
            prop_assert_eq!((id.get() >> 4) & 0x00FF_FFFF, (random >> 4) & 0x00FF_FFFF);
            let text = id.to_string();
            prop_assert_eq!(text.len(), 8);
            prop_assert_eq!(DeviceId::parse(&text), Ok(id));
            prop_assert_eq!(DeviceId::parse(&text.to_ascii_lowercase()), Ok(id));
        }

        #[test]
        fn a_changed_nibble_fails(random in any::<u32>(), pos in 0u32..8, delta in 1u32..16) {
            let id = DeviceId::from_random(random).get();
            let nibble = (id >> (4 * pos)) & 0xF;
            let changed = (id & !(0xF << (4 * pos))) | (((nibble + delta) & 0xF) << (4 * pos));
            prop_assert_ne!(changed, id);
            prop_assert!(!checksum_ok(changed));
            prop_assert!(!reference_valid(changed));
            prop_assert!(DeviceId::new(changed).is_err());
        }

        #[test]
        fn check_agrees_with_the_reference(id in any::<u32>()) {
            prop_assert_eq!(checksum_ok(id), reference_valid(id));
            prop_assert_eq!(DeviceId::new(id).is_ok(), reference_valid(id) && id != 0 && id != u32::MAX);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,12}") {
            let _ = DeviceId::parse(&s);
        }

        #[test]
        fn lineup_is_valid_json_for_any_names(
            names in proptest::collection::vec(any::<String>(), 0..6),
            hd in any::<bool>(),
        ) {
            let numbers: Vec<String> = (1..=names.len()).map(|n| n.to_string()).collect();
            let urls: Vec<String> = numbers.iter().map(|n| tuner_url("http://h:1", n)).collect();
            let entries: Vec<LineupEntry<'_>> = names.iter().zip(&numbers).zip(&urls)
                .map(|((name, n), url)| LineupEntry {
                    guide_number: n, guide_name: name, url, hd, favorite: !hd,
                    video_codec: Some(name), audio_codec: None,
                })
                .collect();
            let v: Value = serde_json::from_str(&lineup_json(&entries)).unwrap();
            let arr = v.as_array().unwrap();
            prop_assert_eq!(arr.len(), names.len());
            for (got, name) in arr.iter().zip(&names) {
                prop_assert_eq!(got["GuideName"].as_str(), Some(name.as_str()));
                prop_assert_eq!(got["VideoCodec"].as_str(), Some(name.as_str()));
            }
        }

        #[test]
        fn device_xml_escapes_any_name(name in any::<String>()) {
            let d = Device { friendly_name: &name, ..device("http://h:1") };
            let xml = device_xml(&d);
            let inner = xml.split("<friendlyName>").nth(1).unwrap().split("</friendlyName>").next().unwrap();
            prop_assert!(!inner.contains('<') && !inner.contains('>'));
            prop_assert!(!inner.chars().any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')));
            let back = inner.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
                .replace("&apos;", "'").replace("&amp;", "&");
            let kept: String = name.chars().filter(|&c| c >= ' ' || matches!(c, '\t' | '\n' | '\r')).collect();
            prop_assert_eq!(back, kept);
        }
    }

    #[test]
    fn discover_shape() {
        let d = device("http://192.168.1.5:8080/");
        let v: Value = serde_json::from_str(&discover_json(&d)).unwrap();
        let obj = v.as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut want = vec![
            "FriendlyName",
            "Manufacturer",
            "ModelNumber",
            "FirmwareName",
            "FirmwareVersion",
            "DeviceID",
            "DeviceAuth",
            "BaseURL",
            "LineupURL",
            "TunerCount",
        ];
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        want.sort_unstable();
        assert_eq!(sorted, want, "exactly these fields");
        assert_eq!(v["FriendlyName"], "relay \"TV\" & <more>");
        assert_eq!(v["Manufacturer"], "Silicondust");
        assert_eq!(v["ModelNumber"], "HDTC-2US");
        assert_eq!(v["FirmwareName"], "hdhomeruntc_atsc");
        let fw = v["FirmwareVersion"].as_str().unwrap();
        assert!(
            fw.len() == 8 && fw.bytes().all(|b| b.is_ascii_digit()),
            "YYYYMMDD: {fw}"
        );
        let id = v["DeviceID"].as_str().unwrap();
        assert_eq!(id, d.device_id.to_string());
        assert!(DeviceId::parse(id).is_ok());
        assert!(v["DeviceAuth"].is_string());
        assert_eq!(
            v["BaseURL"], "http://192.168.1.5:8080",
            "absolute, no trailing slash"
        );
        assert_eq!(v["LineupURL"], "http://192.168.1.5:8080/lineup.json");
        assert!(v["TunerCount"].is_u64(), "TunerCount is a JSON integer");
        assert_eq!(v["TunerCount"], 4);
    }

    #[test]
    fn discover_under_a_path_and_tuner_bounds() {
        let mut d = device("https://tv.example/hdhr/sports");
        let v: Value = serde_json::from_str(&discover_json(&d)).unwrap();
        assert_eq!(v["BaseURL"], "https://tv.example/hdhr/sports");
        assert_eq!(v["LineupURL"], "https://tv.example/hdhr/sports/lineup.json");
        d.tuner_count = 0;
        let v: Value = serde_json::from_str(&discover_json(&d)).unwrap();
        assert_eq!(v["TunerCount"], 1);
        d.tuner_count = u32::MAX;
        let v: Value = serde_json::from_str(&discover_json(&d)).unwrap();
        assert_eq!(v["TunerCount"], MAX_TUNER_COUNT);
    }

    #[test]
    fn lineup_shape() {
        let base = "http://192.168.1.5:8080/";
        let (u1, u2) = (tuner_url(base, "5.1"), tuner_url(base, "101"));
        assert_eq!(u1, "http://192.168.1.5:8080/auto/v5.1");
        let entries = [
            LineupEntry {
                guide_number: "5.1",
                guide_name: "News \"One\"",
                url: &u1,
                hd: true,
                favorite: true,
                video_codec: Some("H264"),
                audio_codec: Some("AAC"),
            },
            LineupEntry {
                guide_number: "101",
                guide_name: "Sport\ttwo",
                url: &u2,
                hd: false,
                favorite: false,
                video_codec: None,
                audio_codec: None,
            },
        ];
        let v: Value = serde_json::from_str(&lineup_json(&entries)).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 2);

        let a = arr[0].as_object().unwrap();
        let mut keys: Vec<&str> = a.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "AudioCodec",
                "Favorite",
                "GuideName",
                "GuideNumber",
                "HD",
                "URL",
                "VideoCodec"
            ]
        );
        assert!(a["GuideNumber"].is_string(), "GuideNumber is a string");
        assert_eq!(a["GuideNumber"], "5.1");
        assert_eq!(a["GuideName"], "News \"One\"");
        assert_eq!(a["VideoCodec"], "H264");
        assert_eq!(a["AudioCodec"], "AAC");
        assert_eq!(a["HD"], 1);
        assert_eq!(a["Favorite"], 1);
        assert_eq!(a["URL"], "http://192.168.1.5:8080/auto/v5.1");

        let b = arr[1].as_object().unwrap();
        let mut keys: Vec<&str> = b.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["GuideName", "GuideNumber", "URL"],
            "false flags and unknown codecs left out"
        );
        assert_eq!(b["GuideNumber"], "101");
        assert_eq!(b["GuideName"], "Sport\ttwo");
        for e in arr {
            let url = e["URL"].as_str().unwrap();
            assert!(url.starts_with("http://"), "absolute: {url}");
            assert!(!url.contains('?'), "no query of its own: {url}");
        }
        assert_eq!(lineup_json(&[]), "[]");
    }

    #[test]
    fn lineup_status_shape() {
        let v: Value = serde_json::from_str(lineup_status_json()).unwrap();
        assert_eq!(v["ScanInProgress"], 0);
        assert!(v["ScanInProgress"].is_u64());
        assert_eq!(v["ScanPossible"], 1);
        assert_eq!(v["Source"], "Cable");
        assert_eq!(v["SourceList"], serde_json::json!(["Cable"]));
        assert_eq!(v.as_object().unwrap().len(), 4);
    }

    #[test]
    fn device_xml_shape() {
        let d = device("http://192.168.1.5:8080/");
        let xml = device_xml(&d);
        let id = d.device_id.to_string();
        let tag = |name: &str| {
            let open = format!("<{name}>");
            let rest = xml
                .split(&open)
                .nth(1)
                .unwrap_or_else(|| panic!("no <{name}>"));
            rest.split(&format!("</{name}>"))
                .next()
                .unwrap()
                .to_string()
        };
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"));
        assert!(xml.trim_end().ends_with("</root>"));
        assert_eq!(tag("major"), "1");
        assert_eq!(tag("minor"), "0");
        assert_eq!(tag("URLBase"), "http://192.168.1.5:8080");
        assert_eq!(
            tag("deviceType"),
            "urn:schemas-upnp-org:device:MediaServer:1"
        );
        assert_eq!(
            tag("friendlyName"),
            "relay &quot;TV&quot; &amp; &lt;more&gt;"
        );
        assert_eq!(tag("manufacturer"), "Silicondust");
        assert_eq!(tag("modelName"), MODEL_NUMBER);
        assert_eq!(tag("modelNumber"), MODEL_NUMBER);
        assert_eq!(tag("serialNumber"), id);
        assert_eq!(tag("UDN"), format!("uuid:{id}"));
    }

    #[test]
    fn guide_numbers() {
        for ok in ["1", "5.1", "0101", "9999.99", "1234567890123456"] {
            assert!(is_guide_number(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "5.",
            ".1",
            "5.1.2",
            "-1",
            "1a",
            " 1",
            "١",
            "12345678901234567",
        ] {
            assert!(!is_guide_number(bad), "{bad}");
        }
    }

    #[test]
    fn errors_display() {
        for e in [
            DeviceIdError::Length,
            DeviceIdError::NotHex,
            DeviceIdError::Checksum,
            DeviceIdError::Reserved,
        ] {
            assert!(!e.to_string().is_empty());
        }
    }
}
