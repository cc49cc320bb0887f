//! HLS rewriting throughput: a 10,000-segment media playlist with relative URIs, and a
//! multivariant playlist, each URI mapped to a token-like relay URL of about 120 bytes.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use relay_core::proto::hls::{self, Target};
use relay_core::proto::uri::Uri;
use std::convert::Infallible;
use std::hint::black_box;

const SEGMENTS: usize = 10_000;

/// Stands in for the relay's token mapper: `http://HOST:PORT/r/<88-char token>.<ext>`, the token
/// derived from the resolved URI (FNV-1a, hex) so every URI costs a pass over its bytes.
fn token_url(t: &Target<'_>) -> Result<String, Infallible> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in t.uri.as_str().as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut url = String::with_capacity(128);
    url.push_str("http://192.168.1.2:8080/r/");
    for i in 0..11u32 {
        let word = h.rotate_left(i * 13) ^ u64::from(i);
        url.extend((0..8).map(|n| char::from(HEX[((word >> (n * 4)) & 0xf) as usize])));
    }
    url.push('.');
    url.push_str(t.kind.default_ext());
    Ok(url)
}

fn identity(t: &Target<'_>) -> Result<String, Infallible> {
    Ok(t.raw.to_string())
}

fn bench(
    c: &mut Criterion,
    name: &str,
    input: &[u8],
    base: &Uri,
    map: fn(&Target<'_>) -> Result<String, Infallible>,
) {
    let mut group = c.benchmark_group("hls");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(input.len() * 3),
            |out| hls::rewrite(black_box(input), base, out, map).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn hls(c: &mut Criterion) {
    let base = Uri::parse(
        "http://provider.example.net:8080/hls/live/chan42/index.m3u8?auth=0123456789abcdef",
    )
    .unwrap();

    let media = relay_benches::sample_media_playlist(SEGMENTS);
    let mut out = Vec::new();
    let summary = hls::rewrite(&media, &base, &mut out, token_url).unwrap();
    assert_eq!(summary.uris, SEGMENTS + SEGMENTS / 100);
    let url = token_url(&Target {
        kind: hls::Kind::Segment,
        uri: &base,
        raw: "",
    })
    .unwrap();
    assert!((110..=130).contains(&url.len()), "{url}");
    bench(c, "hls_rewrite_media_10k", &media, &base, token_url);
    // The rewriter's own share: the same pass with a mapper that only copies the raw URI.
    bench(c, "hls_rewrite_media_10k_identity", &media, &base, identity);

    let master = relay_benches::sample_master_playlist();
    assert_eq!(
        hls::rewrite(&master, &base, &mut out, token_url)
            .unwrap()
            .uris,
        22
    );
    bench(c, "hls_rewrite_master", &master, &base, token_url);

    // What the relay really does per URI: seal a token (ChaCha20-Poly1305 + HMAC nonce).
    let keys = relay_core::token::Keys::from_secret(b"benchmark secret, fixed");
    let sealed = |t: &Target<'_>| -> Result<String, relay_core::token::TokenError> {
        let token = keys.seal(&relay_core::token::Token {
            channel: "0123456789abcdef".into(),
            kind: t.kind,
            url: t.uri.as_str().to_string(),
            expires: 2_000_000_000,
        })?;
        Ok(format!(
            "http://192.168.1.2:8080/r/{token}.{}",
            t.kind.default_ext()
        ))
    };
    let mut group = c.benchmark_group("hls");
    group.throughput(Throughput::Bytes(media.len() as u64));
    group.bench_function("hls_rewrite_media_10k_sealed_tokens", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(media.len() * 4),
            |out| hls::rewrite(black_box(&media), &base, out, sealed).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, hls);
criterion_main!(benches);
