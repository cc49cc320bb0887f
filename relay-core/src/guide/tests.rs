use super::*;
use crate::proto::xmltv::{Text, read_all};

const T0: i64 = 1_704_110_400; // 2024-01-01 12:00:00 UTC
const H: i64 = 3600;

fn cat(id: &str, tvg_id: &str, tvg_name: &str, name: &str, shift: f64) -> CatalogChannel {
    CatalogChannel {
        channel_id: id.into(),
        tvg_id: tvg_id.into(),
        tvg_name: tvg_name.into(),
        name: name.into(),
        shift_hours: shift,
    }
}

fn opts() -> BuildOptions {
    BuildOptions {
        from: T0 - 24 * H,
        to: T0 + 24 * H,
        normalised: true,
    }
}

/// Builds a guide from XMLTV text fed in small chunks.
fn build(catalog: &[CatalogChannel], opts: BuildOptions, sources: &[&str]) -> Guide {
    let mut b = Builder::new(catalog, opts);
    for src in sources {
        let mut r = Reader::new();
        for piece in src.as_bytes().chunks(97) {
            r.feed(piece);
            assert!(!b.ingest(&mut r).unwrap());
        }
        r.finish();
        assert!(b.ingest(&mut r).unwrap());
    }
    b.finish()
}

fn stamp(t: i64) -> String {
    let mut v = Vec::new();
    crate::proto::xmltv::format_time(t, &mut v);
    String::from_utf8(v).unwrap()
}

fn prog(ch: &str, start: i64, stop: Option<i64>, title: &str, extra: &str) -> String {
    let stop = stop.map_or(String::new(), |s| format!(" stop=\"{}\"", stamp(s)));
    format!(
        "<programme start=\"{}\"{stop} channel=\"{ch}\"><title>{title}</title>{extra}</programme>",
        stamp(start)
    )
}

fn guide_xml(channels: &[(&str, &[&str])], progs: &[String]) -> String {
    let mut s = String::from("<?xml version=\"1.0\"?><tv>");
    for (id, names) in channels {
        s.push_str(&format!("<channel id=\"{id}\">"));
        for n in *names {
            s.push_str(&format!("<display-name>{n}</display-name>"));
        }
        s.push_str("</channel>");
    }
    for p in progs {
        s.push_str(p);
    }
    s.push_str("</tv>");
    s
}

#[test]
fn matching_by_id_then_name_then_normalised() {
    let catalog = [
        cat("c1", "BBCOne.uk", "", "BBC One", 0.0),
        cat("c2", "", "Télé Deux", "whatever", 0.0),
        cat("c3", "", "", "Canal Trois", 0.0),
        cat("c4", "", "", "Quatre-TV HD", 0.0),
        cat("c5", "", "", "Nobody", 0.0),
        cat("c6", "undefined.example", "", "Six", 0.0),
    ];
    let xml = guide_xml(
        &[
            ("bbcone.uk", &["Something else"]),
            ("deux.fr", &["télé deux"]),
            ("trois.fr", &["Canal Trois"]),
            ("quatre.fr", &["Quatre TV"]),
            ("extra.fr", &["Unwanted"]),
        ],
        &[
            prog("bbcone.uk", T0, Some(T0 + H), "One", ""),
            prog("deux.fr", T0, Some(T0 + H), "Deux", ""),
            prog("trois.fr", T0, Some(T0 + H), "Trois", ""),
            prog("quatre.fr", T0, Some(T0 + H), "Quatre", ""),
            prog("extra.fr", T0, Some(T0 + H), "Extra", ""),
            prog("UNDEFINED.example", T0, Some(T0 + H), "Six", ""),
            prog("nowhere.example", T0, Some(T0 + H), "None", ""),
        ],
    );
    let g = build(&catalog, opts(), &[&xml]);
    let title = |c: &str| g.now_next(c, T0).and_then(|n| n.now).map(|a| a.title);
    assert_eq!(title("c1"), Some("One"));
    assert_eq!(title("c2"), Some("Deux"));
    assert_eq!(title("c3"), Some("Trois"));
    assert_eq!(title("c4"), Some("Quatre"));
    assert_eq!(title("c5"), None);
    assert_eq!(title("c6"), Some("Six"));
    assert_eq!(g.guide_channel_id("c6"), Some("UNDEFINED.example"));
    assert!(g.channel("c6").is_none());
    assert_eq!(g.channel("c2").unwrap().display_names[0].value, "télé deux");
    let s = g.stats();
    assert_eq!(s.catalog_matched, 5);
    assert_eq!(s.catalog_unmatched, 1);
    assert_eq!(s.unmatched, 2);
    assert_eq!(s.unmatched_ids, ["extra.fr", "nowhere.example"]);
    assert_eq!(s.programmes, 5);

    // Without normalised matching, c4 finds nothing.
    let g = build(
        &catalog,
        BuildOptions {
            normalised: false,
            ..opts()
        },
        &[&xml],
    );
    assert!(g.now_next("c4", T0).is_none());
}

#[test]
fn a_better_match_later_replaces_a_name_match() {
    let catalog = [cat("c1", "real.id", "", "Name", 0.0)];
    let xml = guide_xml(
        &[("by.name", &["Name"]), ("real.id", &["Other"])],
        &[
            prog("by.name", T0, Some(T0 + H), "Wrong", ""),
            prog("real.id", T0, Some(T0 + H), "Right", ""),
        ],
    );
    let g = build(&catalog, opts(), &[&xml]);
    assert_eq!(g.now_next("c1", T0).unwrap().now.unwrap().title, "Right");
    assert_eq!(g.stats().programmes, 1);
    assert_eq!(g.stats().unmatched_ids, ["by.name"]);
}

#[test]
fn shifts_per_catalog_channel_and_now_next() {
    let catalog = [
        cat("plain", "x.id", "", "", 0.0),
        cat("plus", "x.id", "", "", 1.5),
        cat("minus", "x.id", "", "", -2.0),
    ];
    let xml = guide_xml(
        &[("x.id", &["X"])],
        &[
            prog("x.id", T0, None, "A", ""),
            prog("x.id", T0 + H, Some(T0 + 2 * H), "B", ""),
            prog("x.id", T0 + 3 * H, None, "C", ""),
        ],
    );
    let g = build(&catalog, opts(), &[&xml]);
    assert_eq!(
        g.stats().stops_filled,
        1,
        "A's stop is B's start; C stays open"
    );
    let nn = g.now_next("plain", T0 + 30 * 60).unwrap();
    let now = nn.now.unwrap();
    assert_eq!((now.title, now.start, now.stop), ("A", T0, Some(T0 + H)));
    assert_eq!(nn.next.unwrap().title, "B");
    // In the gap between B and C nothing airs.
    let gap = g.now_next("plain", T0 + 2 * H + 60).unwrap();
    assert!(gap.now.is_none());
    assert_eq!(gap.next.unwrap().title, "C");
    // Shifted: "plus" sees A from T0 + 1.5 h.
    let plus = g.now_next("plus", T0 + H).unwrap();
    assert!(plus.now.is_none());
    assert_eq!(plus.next.unwrap().start, T0 + H + H / 2);
    let minus = g.now_next("minus", T0 - 2 * H).unwrap().now.unwrap();
    assert_eq!((minus.title, minus.start), ("A", T0 - 2 * H));
    let p = g.programme(minus.id).unwrap();
    assert_eq!((p.start, p.stop), (T0 - 2 * H, Some(T0 - H)));
    assert_eq!(p.channel, "x.id");
    let all: Vec<String> = g
        .programmes("plus")
        .map(|p| p.title().to_string())
        .collect();
    assert_eq!(all, ["A", "B", "C"]);
    assert!(g.now_next("unknown", T0).is_none());
    assert_eq!(g.programmes("unknown").count(), 0);
}

#[test]
fn search_folds_case_and_accents_and_orders_by_start() {
    let catalog = [
        cat("a", "a.id", "", "", 0.0),
        cat("b", "b.id", "", "", 0.0),
        cat("b2", "b.id", "", "", 1.0),
    ];
    let xml = guide_xml(
        &[("a.id", &["A"]), ("b.id", &["B"])],
        &[
            prog(
                "a.id",
                T0 + 2 * H,
                Some(T0 + 3 * H),
                "Le Journal de la Télé",
                "",
            ),
            prog(
                "a.id",
                T0 + 3 * H,
                Some(T0 + 4 * H),
                "Film",
                "<desc>Une histoire d'ÉTÉ</desc><category>Cinéma</category>",
            ),
            prog(
                "b.id",
                T0,
                Some(T0 + H),
                "TELEVISION news",
                "<sub-title>Champions League</sub-title>",
            ),
            prog(
                "b.id",
                T0 + H,
                Some(T0 + 2 * H),
                "Sport",
                "<category>Football</category>",
            ),
        ],
    );
    let g = build(&catalog, opts(), &[&xml]);
    let titles = |v: Vec<Airing<'_>>| -> Vec<(String, String)> {
        v.into_iter()
            .map(|a| (a.channel_id.to_string(), a.title.to_string()))
            .collect()
    };
    let day = (T0 - 24 * H, T0 + 24 * H);
    assert_eq!(
        titles(g.search("tele", day.0, day.1, 10)),
        [
            ("b".into(), "TELEVISION news".into()),
            ("b2".into(), "TELEVISION news".into()),
            ("a".into(), "Le Journal de la Télé".into()),
        ]
    );
    assert_eq!(
        titles(g.search("été", day.0, day.1, 10)),
        [("a".into(), "Film".into())]
    );
    assert_eq!(
        titles(g.search("CINEMA", day.0, day.1, 10)),
        [("a".into(), "Film".into())]
    );
    assert_eq!(
        titles(g.search("league champions", day.0, day.1, 10)).len(),
        2,
        "all words, any order, on both catalog channels"
    );
    assert!(g.search("league basketball", day.0, day.1, 10).is_empty());
    assert_eq!(g.search("tele", day.0, day.1, 1).len(), 1);
    // Window: only what airs in it (b2 is shifted one hour later).
    let now = g.search("", T0 + H / 2, T0 + H / 2, 10);
    assert_eq!(titles(now), [("b".into(), "TELEVISION news".into())]);
    let later = g.search("", T0 + H + H / 2, T0 + H + H / 2, 10);
    assert_eq!(
        titles(later),
        [
            ("b".into(), "Sport".into()),
            ("b2".into(), "TELEVISION news".into())
        ]
    );
    let only_a = g.search_by("", day.0, day.1, 10, |c| c == "a");
    assert_eq!(only_a.len(), 2);
    assert!(only_a.windows(2).all(|w| w[0].start <= w[1].start));
    let hit = g.search("football", day.0, day.1, 10)[0];
    assert_eq!(g.programme(hit.id).unwrap().categories[0].value, "Football");
}

#[test]
fn window_duplicates_and_merged_sources() {
    let catalog = [cat("a", "a.id", "", "", 0.0)];
    let first = guide_xml(
        &[("a.id", &["A"])],
        &[
            prog("a.id", T0 - 48 * H, Some(T0 - 47 * H), "Too old", ""),
            prog("a.id", T0, Some(T0 + H), "First", ""),
            prog("a.id", T0 + 48 * H, Some(T0 + 49 * H), "Too far", ""),
        ],
    );
    let second = guide_xml(
        &[],
        &[
            prog("a.id", T0, Some(T0 + H), "Duplicate", ""),
            prog("a.id", T0 + H, Some(T0 + 2 * H), "Second", ""),
        ],
    );
    let g = build(&catalog, opts(), &[&first, &second]);
    let all: Vec<String> = g.programmes("a").map(|p| p.title().to_string()).collect();
    assert_eq!(all, ["First", "Second"]);
    assert_eq!(g.stats().duplicates, 1);
}

#[test]
fn the_index_gives_back_every_field() {
    let xml = r#"<tv><channel id="a.id"><display-name>A</display-name></channel>
<programme start="20240101120000 +0000" stop="20240101130000 +0000" channel="a.id" clumpidx="0/1">
<title lang="en">News</title><title lang="fr">Infos</title><sub-title>Sub</sub-title>
<desc lang="en">A long description that is not interned because it is long enough, surely more than sixty-four bytes.</desc>
<credits><actor role="R" guest="yes">Ann</actor><director>Dee</director></credits><date>2023</date>
<category>News</category><icon src="http://i/x.png" width="1"/><episode-num system="xmltv_ns">0.1.</episode-num>
<new/><rating system="MPAA"><value>PG</value><icon src="http://i/pg.png"/></rating></programme></tv>"#;
    let source = read_all(xml.as_bytes(), &mut crate::proto::xmltv::All);
    let g = build(&[cat("a", "a.id", "", "", 0.0)], opts(), &[xml]);
    let back: Vec<Programme> = g.programmes("a").collect();
    assert_eq!(back, source.programmes);
    assert_eq!(g.stats().text_bytes, source.programmes[0].text_bytes());
    assert!(g.stats().index_bytes > g.stats().text_bytes);
}

#[test]
fn an_empty_guide_answers_nothing() {
    let g = Guide::empty();
    assert!(g.now_next("x", T0).is_none());
    assert!(g.search("", T0, T0, 10).is_empty());
    let g = build(&[cat("a", "a.id", "", "", f64::NAN)], opts(), &[]);
    assert_eq!(g.stats().catalog_unmatched, 1);
    let _ = Text::default();
}

mod store_round_trip {
    use super::*;
    use crate::proto::xmltv::{Credit, EpisodeNum, Extra, Icon, Rating};
    use proptest::prelude::*;

    fn s() -> impl Strategy<Value = String> {
        // Any text, empty included; long enough to cross the interning limit sometimes.
        "\\PC{0,80}"
    }

    fn o() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(s())
    }

    prop_compose! {
        fn programme()(
            titles in proptest::collection::vec((s(), o()), 0..3),
            descs in proptest::collection::vec((s(), o()), 0..2),
            cats in proptest::collection::vec((s(), o()), 0..3),
            date in o(),
            eps in proptest::collection::vec((s(), o()), 0..2),
            icons in proptest::collection::vec((s(), o(), o()), 0..2),
            ratings in proptest::collection::vec((s(), o(), proptest::collection::vec((s(), o(), o()), 0..2)), 0..2),
            credits in proptest::collection::vec((s(), s(), o(), o(), s()), 0..3),
            attrs in proptest::collection::vec((s(), s()), 0..2),
            extras in proptest::collection::vec((s(), s()), 0..2),
            start in -1_000_000_000i64..4_000_000_000,
            dur in proptest::option::of(0i64..100_000),
        ) -> Programme {
            let text = |v: Vec<(String, Option<String>)>| v.into_iter().map(|(value, lang)| Text { value, lang }).collect();
            let icon = |(src, width, height)| Icon { src, width, height };
            Programme {
                channel: "a.id".into(),
                start,
                stop: dur.map(|d| start + d),
                titles: text(titles),
                sub_titles: Vec::new(),
                descs: text(descs),
                categories: text(cats),
                date,
                episode_nums: eps.into_iter().map(|(value, system)| EpisodeNum { value, system }).collect(),
                icons: icons.into_iter().map(icon).collect(),
                ratings: ratings.into_iter().map(|(value, system, icons)| Rating {
                    value, system, icons: icons.into_iter().map(icon).collect(),
                }).collect(),
                credits: credits.into_iter().map(|(kind, name, role, guest, extra)| Credit { kind, name, role, guest, extra }).collect(),
                attrs,
                extras: extras.into_iter().map(|(name, xml)| Extra { name, xml }).collect(),
            }
        }
    }

    proptest! {
        #[test]
        fn the_store_keeps_every_field(progs in proptest::collection::vec(programme(), 1..6)) {
            // One channel per programme: no stop filling, no duplicates.
            let catalog: Vec<CatalogChannel> = (0..progs.len())
                .map(|i| cat(&format!("c{i}"), &format!("g{i}"), "", "", 0.0))
                .collect();
            let mut b = Builder::new(&catalog, BuildOptions { from: i64::MIN / 2, to: i64::MAX / 2, normalised: false });
            for (i, p) in progs.iter().enumerate() {
                let mut p = p.clone();
                p.channel = format!("g{i}");
                b.add_programme(&p);
            }
            let g = b.finish();
            for (i, p) in progs.iter().enumerate() {
                let back: Vec<Programme> = g.programmes(&format!("c{i}")).collect();
                let mut expected = p.clone();
                expected.channel = format!("g{i}");
                prop_assert_eq!(back, vec![expected]);
            }
            let text: usize = progs.iter().map(|p| p.text_bytes() - p.channel.len() + 2).sum();
            prop_assert_eq!(g.stats().text_bytes, text);
        }
    }
}
