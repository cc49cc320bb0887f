//! `relay-load`: the load benchmark's origin and clients (see `benches/load/run.sh`).
//!
//! - `relay-load origin ADDR FILE RATE_BPS`: an HTTP origin. `/file*` sends FILE with a
//!   `Content-Length` (std `io::copy`, which uses `sendfile` on Linux: the origin is cheap);
//!   `/live*` sends an endless MPEG-TS stream paced at RATE_BPS bits/s, close-delimited;
//!   `/stats` answers `connections=N` (stream connections accepted so far).
//! - `relay-load get URL`: one GET read to the end; prints `bytes seconds GB/s`.
//! - `relay-load viewers URL N SECS RATE_BPS`: N concurrent viewers; once all receive, counts
//!   each one's bytes over SECS and prints how many got at least 98% of RATE_BPS * SECS.
//!   `URL` may be `@FILE`: a file of URLs, one per line; viewer i watches line i (cycling), so
//!   N channels get one viewer each.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Share of the expected bytes a viewer must receive to count as served.
const SERVED_SHARE: f64 = 0.98;
/// Pacing tick of the live origin.
const TICK: Duration = Duration::from_millis(10);

fn usage() -> ! {
    eprintln!(
        "usage: relay-load origin ADDR FILE RATE_BPS | get URL | viewers URL N SECS RATE_BPS"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match args.first().map(String::as_str) {
        Some("origin") if args.len() == 4 => {
            let rate: u64 = args[3].parse().unwrap_or_else(|_| usage());
            rt.block_on(origin(&args[1], args[2].clone(), rate));
        }
        Some("get") if args.len() == 2 => {
            let (bytes, secs) = rt.block_on(get(&args[1]));
            println!("{bytes} {secs:.3} {:.3}", bytes as f64 / secs / 1e9);
        }
        Some("viewers") if args.len() == 5 => {
            let n: usize = args[2].parse().unwrap_or_else(|_| usage());
            let secs: u64 = args[3].parse().unwrap_or_else(|_| usage());
            let rate: u64 = args[4].parse().unwrap_or_else(|_| usage());
            rt.block_on(viewers(&args[1], n, secs, rate));
        }
        _ => usage(),
    }
}

/// `http://HOST:PORT/PATH` → (address, path).
fn split_url(url: &str) -> (SocketAddr, String) {
    let rest = url.strip_prefix("http://").unwrap_or_else(|| usage());
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = host.parse().unwrap_or_else(|_| usage());
    (addr, format!("/{path}"))
}

async fn origin(addr: &str, file: String, rate: u64) {
    let listener = TcpListener::bind(addr).await.expect("bind");
    let accepted = Arc::new(AtomicUsize::new(0));
    // Ten seconds of stream, sent in a loop.
    let gop = (rate / 8 / 188).max(8) as usize;
    let live = Arc::new(relay_benches::live_ts(10, gop));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (file, live, accepted) = (file.clone(), live.clone(), accepted.clone());
        tokio::spawn(async move {
            let mut stream = stream;
            let mut head = Vec::new();
            let mut buf = [0u8; 2048];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
                if head.len() > 16 * 1024 {
                    return;
                }
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
            let is_head = text.starts_with("HEAD ");
            if path.starts_with("/stats") {
                let body = format!("connections={}\n", accepted.load(Ordering::SeqCst));
                let _ = stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            } else if path.starts_with("/file") {
                accepted.fetch_add(1, Ordering::SeqCst);
                let Ok(std_stream) = stream.into_std() else {
                    return;
                };
                std::thread::spawn(move || send_file(std_stream, &file, is_head));
            } else if path.starts_with("/live") {
                accepted.fetch_add(1, Ordering::SeqCst);
                let ok =
                    b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nConnection: close\r\n\r\n";
                if stream.write_all(ok).await.is_err() || is_head {
                    return;
                }
                send_live(stream, &live, rate).await;
            } else {
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
            }
        });
    }
}

fn send_file(stream: std::net::TcpStream, path: &str, is_head: bool) {
    let _ = stream.set_nonblocking(false);
    let Ok(mut file) = std::fs::File::open(path) else {
        return;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {len}\r\nAccept-Ranges: none\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).is_err() || is_head {
        return;
    }
    let _ = std::io::copy(&mut file, &mut stream);
    let _ = stream.flush();
    let mut sink = [0u8; 64];
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.read(&mut sink);
}

/// Sends `live` over and over at `rate` bits/s in whole packets, until the client goes.
async fn send_live(mut stream: TcpStream, live: &[u8], rate: u64) {
    let start = tokio::time::Instant::now();
    let mut sent: u64 = 0;
    let mut at = 0usize;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let due = (start.elapsed().as_secs_f64() * rate as f64 / 8.0) as u64;
        let mut n = (due.saturating_sub(sent) as usize) / 188 * 188;
        while n > 0 {
            let take = n.min(live.len() - at);
            if stream.write_all(&live[at..at + take]).await.is_err() {
                return;
            }
            sent += take as u64;
            n -= take;
            at = (at + take) % live.len();
        }
    }
}

async fn get(url: &str) -> (u64, f64) {
    let (addr, path) = split_url(url);
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let _ = s.set_nodelay(true);
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let started = Instant::now();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut total = 0u64;
    let mut body_start = None;
    let mut head = Vec::new();
    loop {
        let n = s.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        if body_start.is_none() {
            head.extend_from_slice(&buf[..n]);
            if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                body_start = Some(());
                total += (head.len() - i - 4) as u64;
                head = Vec::new();
            }
        } else {
            total += n as u64;
        }
    }
    (total, started.elapsed().as_secs_f64())
}

async fn viewers(url: &str, n: usize, secs: u64, rate: u64) {
    let urls: Vec<(SocketAddr, String)> = match url.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .unwrap_or_else(|_| usage())
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| split_url(l.trim()))
            .collect(),
        None => vec![split_url(url)],
    };
    if urls.is_empty() {
        usage();
    }
    let ttfb: Arc<std::sync::Mutex<Vec<f64>>> = Arc::default();
    let counters: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let started = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    for i in 0..n {
        let (addr, path) = urls[i % urls.len()].clone();
        let (counters, started, failed, ttfb) = (
            counters.clone(),
            started.clone(),
            failed.clone(),
            ttfb.clone(),
        );
        tokio::spawn(async move {
            let asked = Instant::now();
            let Ok(mut s) = TcpStream::connect(addr).await else {
                failed.fetch_add(1, Ordering::SeqCst);
                return;
            };
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: viewer{i}\r\nConnection: close\r\n\r\n"
            );
            if s.write_all(req.as_bytes()).await.is_err() {
                failed.fetch_add(1, Ordering::SeqCst);
                return;
            }
            let mut buf = vec![0u8; 16 * 1024];
            let mut head = Vec::new();
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    Ok(k) => head.extend_from_slice(&buf[..k]),
                }
                if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    if !head.starts_with(b"HTTP/1.1 200") && !head.starts_with(b"HTTP/1.0 200") {
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    if head.len() > i + 4 {
                        break;
                    }
                }
            }
            drop(head);
            ttfb.lock().unwrap().push(asked.elapsed().as_secs_f64());
            started.fetch_add(1, Ordering::SeqCst);
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => {
                        counters[i].fetch_add(k as u64, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    // Wait until every viewer receives (or failed), at most a minute.
    let ramp = Instant::now();
    while started.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst) < n
        && ramp.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ramp_s = ramp.elapsed().as_secs_f64();
    // Settle, then measure a window.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let got: Vec<u64> = counters
        .iter()
        .zip(&before)
        .map(|(c, b)| c.load(Ordering::Relaxed) - b)
        .collect();
    let expected = rate as f64 / 8.0 * secs as f64;
    let served = got
        .iter()
        .filter(|&&g| g as f64 >= SERVED_SHARE * expected)
        .count();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    let median = sorted.get(n / 2).copied().unwrap_or(0);
    let mut firsts = ttfb.lock().unwrap().clone();
    firsts.sort_by(f64::total_cmp);
    let p99 = firsts
        .get((firsts.len() * 99 / 100).min(firsts.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0);
    println!(
        "viewers={n} started={} failed={} served={served} share={:.3} median_bytes={median} expected_bytes={expected:.0} ramp_s={:.1} ttfb_p99_s={p99:.3}",
        started.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst),
        served as f64 / n as f64,
        ramp_s,
    );
}
