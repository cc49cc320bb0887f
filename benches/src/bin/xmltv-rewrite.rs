//! Reads an XMLTV file (plain or gzip), indexes every channel that has a definition (catalog
//! channel = guide channel, `tvg-id` = its id), and writes the index back out as XMLTV, the way
//! `/epg.xml` will: channels, then each channel's programmes. Used to check the writer's output
//! against the XMLTV DTD (`tv_validate_file --dtd-file /usr/share/xmltv/xmltv.dtd OUT`).
//!
//! `cargo run -p relay-benches --bin xmltv-rewrite IN OUT` (`IN` = `gen:N` reads the generated
//! sample guide of N channels, 48 programmes each).

use relay_core::guide::{BuildOptions, Builder, CatalogChannel};
use relay_core::proto::xmltv::{self, All, read_all};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: xmltv-rewrite IN OUT");
        std::process::exit(2);
    };
    let bytes = match input.strip_prefix("gen:") {
        Some(n) => relay_benches::sample_guide(n.parse().expect("gen:CHANNELS"), 48),
        None => std::fs::read(input).expect("read input"),
    };
    let first = read_all(&bytes, &mut All);
    if let Err(e) = first.result {
        eprintln!("note: {e} (kept what was read)");
    }
    let catalog: Vec<CatalogChannel> = first
        .channels
        .iter()
        .map(|c| CatalogChannel {
            channel_id: c.id.clone(),
            tvg_id: c.id.clone(),
            ..CatalogChannel::default()
        })
        .collect();
    let mut builder = Builder::new(
        &catalog,
        BuildOptions {
            from: i64::MIN / 2,
            to: i64::MAX / 2,
            normalised: false,
        },
    );
    for c in first.channels {
        builder.add_channel(c);
    }
    for p in &first.programmes {
        builder.add_programme(p);
    }
    let guide = builder.finish();
    let mut out = Vec::new();
    xmltv::write_header(&mut out, "relay");
    let mut written = 0;
    for c in &catalog {
        if let Some(def) = guide.channel(&c.channel_id) {
            xmltv::write_channel(&mut out, def);
        }
    }
    for c in &catalog {
        for p in guide.programmes(&c.channel_id) {
            written += usize::from(xmltv::write_programme(&mut out, &p));
        }
    }
    xmltv::write_footer(&mut out);
    std::fs::write(output, &out).expect("write output");
    eprintln!(
        "{} channels, {written} programmes written ({:?})",
        catalog.len(),
        first.stats
    );
}
