use super::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use std::io::Write as _;

const NOON: i64 = 1_704_110_400; // 2024-01-01 12:00:00 UTC

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Feeds `input` in `chunk`-byte pieces, draining after each, and collects everything.
fn read_chunked(input: &[u8], chunk: usize, select: &mut impl Select) -> ReadAll {
    let mut r = Reader::new();
    let mut all = ReadAll {
        channels: Vec::new(),
        programmes: Vec::new(),
        stats: ReadStats::default(),
        result: Ok(()),
    };
    let mut drain = |r: &mut Reader, all: &mut ReadAll| loop {
        match r.next(select) {
            Ok(Step::Channel(c)) => all.channels.push(c),
            Ok(Step::Programme(p)) => all.programmes.push(p),
            Ok(Step::NeedMore) => return false,
            Ok(Step::End) => return true,
            Err(e) => {
                all.result = Err(e);
                return true;
            }
        }
    };
    for piece in input.chunks(chunk.max(1)) {
        r.feed(piece);
        drain(&mut r, &mut all);
    }
    r.finish();
    assert!(drain(&mut r, &mut all), "finished input must end");
    all.stats = r.stats();
    all
}

const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE tv SYSTEM "xmltv.dtd" [ <!ENTITY custom "x"> ]>
<tv generator-info-name="test">
  <!-- a comment with </programme> and <channel id="fake"> inside -->
  <channel id="one.example">
    <display-name lang="en">One &amp; Only</display-name>
    <display-name>1</display-name>
    <icon src="http://logo.example/one.png" width="100" height="50"/>
    <url system="web">http://one.example/</url>
    <lcn>7</lcn>
  </channel>
  <channel id="two.example"><display-name>Télé Deux</display-name></channel>
  <programme start="20240101120000 +0100" stop="20240101130000 +0100" channel="one.example" clumpidx="0/1" vps-start="20240101110000">
    <title lang="en">  News at &lt;Noon&gt;  </title>
    <title lang="fr">Infos</title>
    <sub-title>Part &#233;&#xE9; one</sub-title>
    <desc lang="en"><![CDATA[A <b>bold</b> & plain desc]]></desc>
    <credits>
      <director>Jane Doe</director>
      <actor role="Herself" guest="yes">Ann <image type="person">http://img.example/a.jpg</image></actor>
    </credits>
    <date>2023</date>
    <category lang="en">News</category>
    <category>Current affairs</category>
    <keyword>politics</keyword>
    <icon src="http://img.example/news.png"/>
    <episode-num system="xmltv_ns">0.4.</episode-num>
    <episode-num system="onscreen">S01E05</episode-num>
    <video><aspect>16:9</aspect><quality>HDTV</quality></video>
    <previously-shown start="20231231000000 +0000"/>
    <new/>
    <rating system="MPAA"><value>PG</value><icon src="http://img.example/pg.png"/></rating>
    <star-rating><value>3/5</value></star-rating>
    <unknown-thing a="1">kept &amp; escaped</unknown-thing>
  </programme>
  <programme start="20240101130000" channel="two.example"><title>Film &nbsp; & co</title></programme>
  <programme start="202401011400" stop="garbage" channel="two.example"><title>Late</title></programme>
  <programme start="bad" channel="two.example"><title>Dropped</title></programme>
  <programme stop="20240101140000" channel="two.example"><title>No start</title></programme>
</tv>
"#;

#[test]
fn reads_every_field() {
    let all = read_all(SAMPLE.as_bytes(), &mut All);
    assert_eq!(all.result, Ok(()));
    assert_eq!(all.channels.len(), 2);
    let one = &all.channels[0];
    assert_eq!(one.id, "one.example");
    assert_eq!(
        one.display_names,
        vec![
            Text {
                value: "One & Only".into(),
                lang: Some("en".into())
            },
            Text {
                value: "1".into(),
                lang: None
            }
        ]
    );
    assert_eq!(
        one.icons,
        vec![Icon {
            src: "http://logo.example/one.png".into(),
            width: Some("100".into()),
            height: Some("50".into())
        }]
    );
    assert_eq!(one.urls[0].system.as_deref(), Some("web"));
    assert_eq!(one.extras[0].xml, "<lcn>7</lcn>");
    assert_eq!(all.channels[1].display_names[0].value, "Télé Deux");

    assert_eq!(all.programmes.len(), 3);
    let p = &all.programmes[0];
    assert_eq!(p.channel, "one.example");
    assert_eq!(p.start, NOON - 3600);
    assert_eq!(p.stop, Some(NOON));
    assert_eq!(p.title(), "News at <Noon>");
    assert_eq!(p.titles[1].lang.as_deref(), Some("fr"));
    assert_eq!(p.sub_titles[0].value, "Part éé one");
    assert_eq!(p.descs[0].value, "A <b>bold</b> & plain desc");
    assert_eq!(p.credits.len(), 2);
    assert_eq!(p.credits[1].kind, "actor");
    assert_eq!(p.credits[1].name, "Ann");
    assert_eq!(p.credits[1].role.as_deref(), Some("Herself"));
    assert_eq!(p.credits[1].guest.as_deref(), Some("yes"));
    assert_eq!(
        p.credits[1].extra,
        "<image type=\"person\">http://img.example/a.jpg</image>"
    );
    assert_eq!(p.date.as_deref(), Some("2023"));
    assert_eq!(p.categories.len(), 2);
    assert_eq!(p.icons[0].src, "http://img.example/news.png");
    assert_eq!(p.episode_nums[0].system.as_deref(), Some("xmltv_ns"));
    assert_eq!(p.episode_nums[1].value, "S01E05");
    assert_eq!(p.ratings[0].value, "PG");
    assert_eq!(p.ratings[0].system.as_deref(), Some("MPAA"));
    assert_eq!(p.ratings[0].icons.len(), 1);
    assert_eq!(
        p.attrs,
        vec![
            ("clumpidx".to_string(), "0/1".to_string()),
            ("vps-start".to_string(), "20240101110000".to_string())
        ]
    );
    let extras: Vec<&str> = p.extras.iter().map(|e| e.xml.as_str()).collect();
    assert_eq!(
        extras,
        [
            "<keyword>politics</keyword>",
            "<video><aspect>16:9</aspect><quality>HDTV</quality></video>",
            "<previously-shown start=\"20231231000000 +0000\"/>",
            "<new/>",
            "<star-rating><value>3/5</value></star-rating>",
            "<unknown-thing a=\"1\">kept &amp; escaped</unknown-thing>",
        ]
    );

    let film = &all.programmes[1];
    assert_eq!(film.start, NOON + 3600);
    assert_eq!(film.stop, None);
    assert_eq!(film.title(), "Film &nbsp; & co");
    let late = &all.programmes[2];
    assert_eq!(late.start, NOON + 7200);
    assert_eq!(late.stop, None);

    let s = all.stats;
    assert_eq!(s.channels, 2);
    assert_eq!(s.programmes, 3);
    assert_eq!(s.bad_programmes, 2);
    assert_eq!(s.bad_stops, 1);
    assert_eq!(s.bad_entities, 2, "&nbsp; and the bare &");
    assert!(!s.gzip);
}

#[test]
fn any_chunking_reads_the_same_plain_and_gzip() {
    let whole = read_all(SAMPLE.as_bytes(), &mut All);
    let z = gz(SAMPLE.as_bytes());
    let whole_gz = read_all(&z, &mut All);
    assert!(whole_gz.stats.gzip);
    assert_eq!(whole_gz.programmes, whole.programmes);
    for chunk in [1, 2, 3, 5, 8, 13, 64, 333] {
        let plain = read_chunked(SAMPLE.as_bytes(), chunk, &mut All);
        assert_eq!(plain.result, Ok(()), "chunk {chunk}");
        assert_eq!(plain.channels, whole.channels, "chunk {chunk}");
        assert_eq!(plain.programmes, whole.programmes, "chunk {chunk}");
        assert_eq!(plain.stats.bad_entities, whole.stats.bad_entities);
        let zipped = read_chunked(&z, chunk, &mut All);
        assert_eq!(zipped.result, Ok(()), "gz chunk {chunk}");
        assert_eq!(zipped.programmes, whole.programmes, "gz chunk {chunk}");
    }
}

#[test]
fn select_sees_start_tags_and_skips_unwanted_unparsed() {
    let mut seen = Vec::new();
    let mut only_two = |ch: &str, start: i64, stop: Option<i64>| {
        seen.push((ch.to_string(), start, stop));
        ch == "two.example"
    };
    let all = read_all(SAMPLE.as_bytes(), &mut only_two);
    assert_eq!(all.programmes.len(), 2);
    assert!(all.programmes.iter().all(|p| p.channel == "two.example"));
    assert_eq!(all.stats.skipped, 1);
    // Entities of the skipped programme were never looked at.
    assert_eq!(all.stats.bad_entities, 2);
    assert_eq!(seen[0], ("one.example".into(), NOON - 3600, Some(NOON)));
    assert_eq!(seen.len(), 3);

    let window =
        |_: &str, start: i64, stop: Option<i64>| in_window(start, stop, NOON - 1800, NOON + 1800);
    let mut window = window;
    let all = read_all(SAMPLE.as_bytes(), &mut window);
    let titles: Vec<&str> = all.programmes.iter().map(Programme::title).collect();
    assert_eq!(titles, ["News at <Noon>"]);
}

#[test]
fn declared_encodings() {
    let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<tv><channel id=\"a.b\"><display-name>T\xe9l\xe9 \x80</display-name></channel>\
<programme start=\"20240101120000 +0000\" channel=\"a.b\"><title>Caf\xe9</title></programme></tv>";
    let all = read_all(latin1, &mut All);
    assert_eq!(all.result, Ok(()));
    assert_eq!(all.stats.encoding, Encoding::Latin1);
    assert_eq!(all.channels[0].display_names[0].value, "Télé €");
    assert_eq!(all.programmes[0].title(), "Café");

    let cp = b"<?xml version='1.0' encoding='windows-1252'?><tv><programme start='20240101120000' channel='a.b'><title>\x93Quoted\x94</title></programme></tv>";
    let all = read_all(cp, &mut All);
    assert_eq!(all.programmes[0].title(), "“Quoted”");
    assert_eq!(all.stats.encoding, Encoding::Windows1252);

    let unknown = b"<?xml version=\"1.0\" encoding=\"x-made-up\"?><tv><programme start=\"20240101120000\" channel=\"a.b\"><title>\xff ok</title></programme></tv>";
    let all = read_all(unknown, &mut All);
    assert_eq!(all.programmes[0].title(), "\u{FFFD} ok");
    assert_eq!(all.stats.encoding, Encoding::Unknown);

    let lying = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><tv><programme start=\"20240101120000\" channel=\"a.b\"><title>Caf\xe9 \xc3\xa9</title></programme></tv>";
    let all = read_all(lying, &mut All);
    assert_eq!(all.programmes[0].title(), "Café é");
    assert_eq!(all.stats.recoded_bytes, 1);
}

/// A dirty guide built in code: one line of more than 1.5 M characters, gzip, a CR, comments,
/// a huge icon, oversized elements, missing stops, bad entities.
fn dirty_guide(programmes: usize) -> String {
    let mut s = String::from("<?xml version=\"1.0\"?><tv>");
    s.push_str("<channel id=\"big.example\"><display-name>Big</display-name>");
    s.push_str("<icon src=\"data:image/png;base64,");
    s.push_str(&"A".repeat(MAX_VALUE_BYTES + 10));
    s.push_str("\"/></channel>\r");
    // An element over the limit, skipped whole.
    s.push_str(
        "<programme start=\"20240101000000\" channel=\"big.example\"><title>Huge</title><desc>",
    );
    s.push_str(&"x".repeat(MAX_ELEMENT_BYTES + 1));
    s.push_str("</desc></programme>");
    for i in 0..programmes {
        let start = 20240101000000u64 + (i as u64 % 24) * 10000;
        if i % 3 == 0 {
            s.push_str(&format!(
                "<programme start=\"{start} +0100\" channel=\"c{}.example\"><title>T{i} &bogus; &amp;</title>\
                 <!-- </programme> --><desc>{}</desc></programme>",
                i % 10,
                "d".repeat(i % 200)
            ));
        } else {
            s.push_str(&format!(
                "<programme start=\"{start}\" stop=\"{}\" channel=\"c{}.example\"><title>T{i}</title></programme>",
                start + 5000,
                i % 10
            ));
        }
    }
    s.push_str("</tv>");
    s
}

#[test]
fn survives_a_dirty_guide_in_bounded_memory() {
    let guide = dirty_guide(20_000);
    assert!(guide.len() > 1_500_000 && !guide.contains('\n'));
    for input in [guide.clone().into_bytes(), gz(guide.as_bytes())] {
        let mut r = Reader::new();
        let mut count = 0;
        let mut peak = 0;
        for piece in input.chunks(64 * 1024) {
            r.feed(piece);
            loop {
                match r.next(&mut All).unwrap() {
                    Step::Programme(p) => {
                        assert!(p.title().starts_with('T'));
                        count += 1
                    }
                    Step::Channel(c) => assert!(c.icons.is_empty(), "the huge icon is dropped"),
                    Step::NeedMore => break,
                    Step::End => unreachable!(),
                }
                peak = peak.max(r.buffered_bytes());
            }
        }
        r.finish();
        loop {
            match r.next(&mut All).unwrap() {
                Step::Programme(_) => count += 1,
                Step::End => break,
                _ => {}
            }
        }
        let s = r.stats();
        assert_eq!(count, 20_000);
        assert_eq!(s.oversized, 2, "the element and the icon");
        assert_eq!(s.bad_entities, 20_000 / 3 + 1);
        assert!(
            peak < 3 * MAX_ELEMENT_BYTES,
            "peak buffer {peak} (gzip {})",
            s.gzip
        );
    }
}

#[test]
fn endings_and_errors() {
    let cut = &SAMPLE.as_bytes()[..SAMPLE.len() / 2];
    let all = read_all(cut, &mut All);
    assert_eq!(all.result, Err(XmltvError::Truncated));
    assert_eq!(all.channels.len(), 2, "what came before the cut is kept");

    let no_end =
        "<tv><programme start=\"20240101120000\" channel=\"a\"><title>x</title></programme>";
    assert_eq!(
        read_all(no_end.as_bytes(), &mut All).result,
        Err(XmltvError::Truncated)
    );
    assert_eq!(read_all(b"", &mut All).result, Err(XmltvError::NotXmltv));
    assert_eq!(
        read_all(b"<html><body>502 Bad Gateway</body></html>", &mut All).result,
        Err(XmltvError::NotXmltv)
    );
    let z = gz(SAMPLE.as_bytes());
    let all = read_all(&z[..z.len() - 4], &mut All);
    assert_eq!(
        all.result,
        Err(XmltvError::Gzip(crate::proto::gzip::GzipError::Truncated))
    );
    // Elements inside unknown wrappers are still found; nested junk does not stop the reader.
    let odd = "<tv><wrap><programme start=\"20240101120000\" channel=\"a\"><title>in <i>wrap</title></programme></wrap>\
               <programme start=\"20240101120000\" channel=\"a\"/></tv>";
    let all = read_all(odd.as_bytes(), &mut All);
    assert_eq!(all.result, Ok(()));
    assert_eq!(all.programmes.len(), 2);
    assert_eq!(all.programmes[0].title(), "in wrap");
}

fn write_guide(channels: &[Channel], programmes: &[Programme]) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(&mut out, "relay");
    for c in channels {
        write_channel(&mut out, c);
    }
    for p in programmes {
        write_programme(&mut out, p);
    }
    write_footer(&mut out);
    out
}

#[test]
fn writes_in_dtd_order_and_reads_back() {
    let all = read_all(SAMPLE.as_bytes(), &mut All);
    let out = write_guide(&all.channels, &all.programmes);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains(
        "<programme start=\"20240101110000 +0000\" stop=\"20240101120000 +0000\" channel=\"one.example\""
    ));
    assert!(!text.contains("unknown-thing"), "not in the DTD");
    assert!(!text.contains("<lcn>"));
    let order = [
        "<title",
        "<sub-title",
        "<desc",
        "<credits",
        "<date",
        "<category",
        "<keyword",
        "<icon src=\"http://img",
        "<episode-num",
        "<video",
        "<previously-shown",
        "<new/>",
        "<rating",
        "<star-rating",
    ];
    let at: Vec<usize> = order.iter().map(|t| text.find(t).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");

    let back = read_all(&out, &mut All);
    assert_eq!(back.result, Ok(()));
    let mut expected = all.programmes.clone();
    expected[0].extras.retain(|e| e.name != "unknown-thing");
    assert_eq!(back.programmes, expected);
    let mut channels = all.channels.clone();
    channels[0].extras.clear();
    assert_eq!(back.channels, channels);
}

#[test]
fn writer_refuses_untitled_and_escapes() {
    let mut out = Vec::new();
    let mut p = Programme {
        channel: "a\"b".into(),
        start: NOON,
        ..Programme::default()
    };
    assert!(!write_programme(&mut out, &p));
    assert!(out.is_empty());
    p.titles.push(Text {
        value: "<A & B>\u{1}\u{85}".into(),
        lang: None,
    });
    assert!(write_programme(&mut out, &p));
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("channel=\"a&quot;b\""));
    assert!(text.contains("<title>&lt;A &amp; B&gt;</title>"));
    assert!(!text.contains("stop="));
}

fn text_strategy() -> impl Strategy<Value = String> {
    // Printable text without surrounding whitespace (the reader trims leaf text).
    "[a-zA-Z0-9éà&<>;]([a-zA-Z0-9éÉ€日本🎬&<>\"' ;#]{0,20}[a-zA-Z0-9éà&<>;])?"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-z0-9&\" ]{0,8}")
}

prop_compose! {
    fn texts()(v in proptest::collection::vec((text_strategy(), proptest::option::of("[a-z]{2}")), 0..3)) -> Vec<Text> {
        v.into_iter().map(|(value, lang)| Text { value, lang }).collect()
    }
}

prop_compose! {
    fn icons()(v in proptest::collection::vec(("[a-z:/.&]{1,20}", opt_text(), opt_text()), 0..2)) -> Vec<Icon> {
        v.into_iter().map(|(src, width, height)| Icon { src, width, height }).collect()
    }
}

const EXTRA_FIXTURES: [(&str, &str); 8] = [
    ("keyword", "<keyword lang=\"en\">k &amp; w</keyword>"),
    ("length", "<length units=\"minutes\">60</length>"),
    ("country", "<country>FR</country>"),
    (
        "video",
        "<video><present>yes</present><aspect>16:9</aspect></video>",
    ),
    (
        "previously-shown",
        "<previously-shown start=\"20240101000000 +0000\"/>",
    ),
    ("new", "<new/>"),
    (
        "subtitles",
        "<subtitles type=\"teletext\"><language>en</language></subtitles>",
    ),
    (
        "star-rating",
        "<star-rating><value>3/5</value></star-rating>",
    ),
];

prop_compose! {
    fn programme()(
        channel in "[a-z0-9.&\"<]{1,12}",
        start in MIN_TIME..=MAX_TIME,
        stop in proptest::option::of(MIN_TIME..=MAX_TIME),
        mut titles in texts(),
        first in text_strategy(),
        sub_titles in texts(),
        descs in texts(),
        credits in proptest::collection::vec((0usize..10, text_strategy(), opt_text(), any::<bool>()), 0..4),
        date in proptest::option::of("[0-9]{4}"),
        categories in texts(),
        icons in icons(),
        episode_nums in proptest::collection::vec((text_strategy(), opt_text()), 0..3),
        ratings in proptest::collection::vec((text_strategy(), opt_text(), icons()), 0..2),
        attrs in proptest::collection::vec((0usize..5, "[0-9a-z/ &]{0,10}"), 0..3),
        extras in proptest::collection::btree_set(0usize..EXTRA_FIXTURES.len(), 0..4),
    ) -> Programme {
        const KINDS: [&str; 10] = ["director", "actor", "writer", "adapter", "producer", "composer",
            "editor", "presenter", "commentator", "guest"];
        const ATTRS: [&str; 5] = ["pdc-start", "vps-start", "showview", "videoplus", "clumpidx"];
        titles.insert(0, Text { value: first, lang: None });
        let mut credits = credits;
        credits.sort_by_key(|c| c.0);
        let mut attrs = attrs;
        attrs.sort_by_key(|a| a.0);
        attrs.dedup_by_key(|a| a.0);
        Programme {
            channel, start, stop, titles, sub_titles, descs,
            credits: credits.into_iter().map(|(k, name, role, guest)| Credit {
                kind: KINDS[k].into(), name, role,
                guest: guest.then(|| "yes".to_string()), extra: String::new(),
            }).collect(),
            date, categories, icons,
            episode_nums: episode_nums.into_iter().map(|(value, system)| EpisodeNum { value, system }).collect(),
            ratings: ratings.into_iter().map(|(value, system, icons)| Rating { value, system, icons }).collect(),
            attrs: attrs.into_iter().map(|(k, v)| (ATTRS[k].to_string(), v)).collect(),
            extras: extras.into_iter().map(|i| Extra {
                name: EXTRA_FIXTURES[i].0.into(), xml: EXTRA_FIXTURES[i].1.into(),
            }).collect(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_then_read_keeps_every_field(progs in proptest::collection::vec(programme(), 1..4)) {
        let out = write_guide(&[], &progs);
        let back = read_all(&out, &mut All);
        prop_assert_eq!(back.result, Ok(()));
        prop_assert_eq!(back.stats.bad_entities, 0);
        prop_assert_eq!(back.programmes, progs);
    }

    #[test]
    fn never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048), split in any::<usize>()) {
        let _ = read_all(&data, &mut All);
        let at = if data.is_empty() { 0 } else { split % data.len() };
        let mut r = Reader::new();
        r.feed(&data[..at]);
        while let Ok(Step::Channel(_) | Step::Programme(_)) = r.next(&mut All) {}
        r.feed(&data[at..]);
        r.finish();
        while let Ok(Step::Channel(_) | Step::Programme(_) | Step::NeedMore) = r.next(&mut All) {}
    }

    #[test]
    fn never_panics_on_xml_soup(parts in proptest::collection::vec(prop_oneof![
        Just("<tv>"), Just("</tv>"), Just("<programme start=\"20240101120000\" channel=\"a\">"),
        Just("</programme>"), Just("<channel id=\"a\">"), Just("</channel>"), Just("<title>"),
        Just("</title>"), Just("<!--"), Just("-->"), Just("<![CDATA["), Just("]]>"), Just("&amp;"),
        Just("&"), Just("<"), Just(">"), Just("\""), Just("'"), Just("<credits>"), Just("<actor>"),
        Just("<rating>"), Just("<value>"), Just("<icon src=\"x\"/>"), Just("<!DOCTYPE ["), Just("]>"),
        Just("<?xml encoding=\"latin1\"?>"), Just("text é"), Just("\u{1F3AC}"), Just("<programme/>"),
    ], 0..60), chunk in 1usize..40) {
        let xml: String = parts.concat();
        let whole = read_all(xml.as_bytes(), &mut All);
        let pieces = read_chunked(xml.as_bytes(), chunk, &mut All);
        prop_assert_eq!(pieces.programmes, whole.programmes);
        prop_assert_eq!(pieces.channels, whole.channels);
        let _ = read_all(&gz(xml.as_bytes()), &mut All);
    }
}
