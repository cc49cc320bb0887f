//! XMLTV times: `YYYYMMDDhhmmss +zzzz` and its shorter forms, to and from Unix seconds.

/// Earliest time [`format_time`] writes (0000-01-01 00:00:00 UTC); earlier times are clamped.
pub const MIN_TIME: i64 = -62_167_219_200;
/// Latest time [`format_time`] writes (9999-12-31 23:59:59 UTC); later times are clamped.
pub const MAX_TIME: i64 = 253_402_300_799;

/// Parses an XMLTV time into Unix seconds (UTC).
///
/// The DTD's form is `YYYYMMDDhhmmss` or any leading part of it down to `YYYY` (missing parts
/// are the start of the period: month and day 1, time 00:00:00), then an optional time zone after
/// optional spaces: `+hhmm`, `-hhmm`, `+hh`, `+hh:mm`, `Z`, or a name (`UTC`, `GMT`, `BST`,
/// `CET`, `CEST`, `EET`, `EEST`, US zones; an unknown name counts as UTC). No zone means UTC.
/// Surrounding whitespace is ignored; an odd digit count, out-of-range fields or trailing junk
/// give `None`. A leap second (`60`) reads as `59`.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(4..=14).contains(&digits) || digits % 2 != 0 {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<u32> {
        if from + len > digits {
            return None;
        }
        let mut v = 0u32;
        for &c in &b[from..from + len] {
            v = v * 10 + u32::from(c - b'0');
        }
        Some(v)
    };
    let year = num(0, 4)?;
    let month = num(4, 2).unwrap_or(1);
    let day = num(6, 2).unwrap_or(1);
    let hour = num(8, 2).unwrap_or(0);
    let minute = num(10, 2).unwrap_or(0);
    let second = num(12, 2).unwrap_or(0).min(59);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    let offset = parse_zone(s[digits..].trim_start_matches(|c: char| c.is_ascii_whitespace()))?;
    let days = days_from_civil(i64::from(year), month, day);
    Some(
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
            - offset,
    )
}

/// A time zone suffix to its offset east of UTC in seconds.
fn parse_zone(z: &str) -> Option<i64> {
    let b = z.as_bytes();
    match b.first() {
        None => Some(0),
        Some(&sign @ (b'+' | b'-')) => {
            let mut rest = [0u8; 4];
            let mut n = 0;
            for &c in b[1..].iter().filter(|&&c| c != b':') {
                if n == 4 || !c.is_ascii_digit() {
                    return None;
                }
                rest[n] = c;
                n += 1;
            }
            if n != 2 && n != 4 {
                return None;
            }
            let h = i64::from((rest[0] - b'0') * 10 + (rest[1] - b'0'));
            let m = if n == 4 {
                i64::from((rest[2] - b'0') * 10 + (rest[3] - b'0'))
            } else {
                0
            };
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            Some(if sign == b'-' { -off } else { off })
        }
        Some(c) if c.is_ascii_alphabetic() => {
            if !b.iter().all(u8::is_ascii_alphabetic) || b.len() > 5 {
                return None;
            }
            let hours = match z.to_ascii_uppercase().as_str() {
                "BST" | "CET" | "WEST" | "IST" => 1,
                "CEST" | "EET" => 2,
                "EEST" | "MSK" => 3,
                "EST" => -5,
                "EDT" | "AST" => -4,
                "CST" => -6,
                "CDT" => -5,
                "MST" => -7,
                "MDT" => -6,
                "PST" => -8,
                "PDT" => -7,
                _ => 0,
            };
            Some(hours * 3600)
        }
        Some(_) => None,
    }
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    // Count years from March so the leap day is the last day of the counted year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((m + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(d) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let d = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let m = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let y = year_of_era + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Appends `t` (Unix seconds) as `YYYYMMDDhhmmss +0000`, clamped to
/// [`MIN_TIME`]..=[`MAX_TIME`].
pub fn format_time(t: i64, out: &mut Vec<u8>) {
    let t = t.clamp(MIN_TIME, MAX_TIME);
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
    let secs = t.rem_euclid(86_400);
    let fields = [
        (y, 4),
        (i64::from(mo), 2),
        (i64::from(d), 2),
        (secs / 3600, 2),
        (secs / 60 % 60, 2),
        (secs % 60, 2),
    ];
    for (v, width) in fields {
        let mut digits = [b'0'; 4];
        let mut v = v;
        for slot in digits[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&digits[..width]);
    }
    out.extend_from_slice(b" +0000");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fmt(t: i64) -> String {
        let mut v = Vec::new();
        format_time(t, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn forms_and_zones() {
        let noon = 1_704_110_400; // 2024-01-01 12:00:00 UTC
        assert_eq!(parse_time("20240101120000 +0000"), Some(noon));
        assert_eq!(parse_time("20240101120000"), Some(noon));
        assert_eq!(parse_time("202401011200"), Some(noon));
        assert_eq!(parse_time("2024010112"), Some(noon));
        assert_eq!(parse_time("20240101"), Some(noon - 12 * 3600));
        assert_eq!(parse_time("202401"), Some(noon - 12 * 3600));
        assert_eq!(parse_time("2024"), Some(noon - 12 * 3600));
        assert_eq!(parse_time("20240101120000 +0100"), Some(noon - 3600));
        assert_eq!(
            parse_time("20240101120000 -0530"),
            Some(noon + 5 * 3600 + 1800)
        );
        assert_eq!(parse_time("20240101120000+0100"), Some(noon - 3600));
        assert_eq!(parse_time("20240101120000 +01:00"), Some(noon - 3600));
        assert_eq!(parse_time("20240101120000 +01"), Some(noon - 3600));
        assert_eq!(parse_time("  20240101120000 Z "), Some(noon));
        assert_eq!(parse_time("200007281733 BST"), Some(964_805_580 - 3600));
        assert_eq!(parse_time("20240101120000 XYZ"), Some(noon));
        assert_eq!(parse_time("20240101120060"), Some(noon + 59));
    }

    #[test]
    fn bad_times() {
        for bad in [
            "",
            "2024010",
            "202413",
            "20240230",
            "20240101240000",
            "20240101126000",
            "20240101120000 +2500",
            "20240101120000 +1",
            "20240101120000 junk!",
            "2024-01-01",
            "١٢٣٤",
            "202401011200000000",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
        assert_eq!(parse_time("20240229"), Some(1_709_164_800));
        assert_eq!(parse_time("20230229"), None);
    }

    #[test]
    fn formats_full_utc() {
        assert_eq!(fmt(0), "19700101000000 +0000");
        assert_eq!(fmt(1_704_110_400), "20240101120000 +0000");
        assert_eq!(fmt(-1), "19691231235959 +0000");
        assert_eq!(fmt(i64::MIN), "00000101000000 +0000");
        assert_eq!(fmt(i64::MAX), "99991231235959 +0000");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(t in MIN_TIME..=MAX_TIME) {
            prop_assert_eq!(parse_time(&fmt(t)), Some(t));
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_time(&s);
        }
    }
}
