//! The server binary as a user runs it: flags, env, startup line, serving, SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_relay-server");

fn example_catalog() -> String {
    format!("{}/../examples/channels.m3u", env!("CARGO_MANIFEST_DIR"))
}

/// Starts the server and reads stderr up to the startup line; returns the child, the bound
/// address and the lines read so far.
#[allow(clippy::zombie_processes)] // the caller waits for it in `terminate`
fn start(args: &[&str], envs: &[(&str, &str)]) -> (Child, SocketAddr, Vec<String>) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let status = child.wait();
            panic!("server exited early ({status:?}): {lines:?}");
        }
        let addr = line.split("listening on ").nth(1).and_then(|rest| {
            rest.split(':')
                .take(2)
                .collect::<Vec<_>>()
                .join(":")
                .parse()
                .ok()
        });
        lines.push(line);
        if let Some(addr) = addr {
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return (child, addr, lines);
        }
    }
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn terminate(mut child: Child) {
    // The shell's builtin `kill`: no procps needed on a minimal machine.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {}", child.id()))
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean exit on SIGTERM, got {exit:?}");
}

#[test]
fn serves_the_example_catalog_and_stops_on_sigterm() {
    let catalog = example_catalog();
    let (child, addr, lines) = start(&["--listen", "127.0.0.1:0", "--catalog", &catalog], &[]);
    let startup = lines.last().unwrap();
    assert!(
        startup.contains("4 channels from 1 of 1 catalogs"),
        "{startup}"
    );
    assert!(
        startup.contains(&format!("http://{addr}/playlist.m3u8")),
        "{startup}"
    );
    let health = get(addr, "/health");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("\"channels\":4"),
        "{health}"
    );
    let playlist = get(addr, "/playlist.m3u8");
    assert!(
        playlist.contains(&format!("http://{addr}/stream/")),
        "{playlist}"
    );
    assert!(
        !playlist.contains("blender.org/peach/bigbuckbunny_movies"),
        "{playlist}"
    );
    terminate(child);
}

#[test]
fn settings_come_from_the_environment_and_flags_win() {
    let catalog = example_catalog();
    let (child, addr, _) = start(
        &["--listen=127.0.0.1:0"],
        &[
            ("RELAY_CATALOG", &catalog),
            ("RELAY_PUBLIC_URL", "http://tv.lan:9"),
            ("RELAY_LISTEN", "127.0.0.1:1"),
        ],
    );
    let playlist = get(addr, "/playlist.m3u");
    assert!(playlist.contains("http://tv.lan:9/stream/"), "{playlist}");
    terminate(child);
}

#[test]
fn without_a_catalog_it_starts_and_says_what_to_do() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("--catalog") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{seen}");
        seen.push_str(&line);
    }
    assert!(seen.contains("0 channels"), "{seen}");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    terminate(child);
}

#[test]
fn bad_flags_are_refused_clearly() {
    let out = Command::new(BIN)
        .args(["--listen", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--listen") && err.contains("nonsense"),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["--frobnicate", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option --frobnicate"));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--catalog PATH|URL"));
}

/// A tiny origin on 127.0.0.1: answers every request with `body` and records each request head.
fn origin(body: &'static str) -> (SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, seen)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("relay-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_config_file_gives_two_sources_with_their_own_headers_and_caps() {
    let (up, seen) = origin(
        "#EXTM3U\n#EXTINF:-1 tvg-id=\"a\",Remote A\nhttp://127.0.0.1:9/a.ts\n#EXTINF:-1,Remote B\nhttp://127.0.0.1:9/b.ts\n",
    );
    let dir = temp_dir("two-sources");
    std::fs::write(
        dir.join("local.m3u"),
        "#EXTM3U\n#EXTINF:-1,Local\nhttp://127.0.0.1:9/l.ts\n",
    )
    .unwrap();
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nshare-linger = \"2s\"\n\n[[source]]\nname = \"remote\"\nurl = \"http://{up}/get.php?username=u&password=p\"\nmax-connections = 1\nuser-agent = \"TiviMate/4.7.0\"\nheaders = {{ Referer = \"http://ref.example/\" }}\n\n[[source]]\npath = \"local.m3u\"\nmax-connections = 3\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_string();
    let check = Command::new(BIN)
        .args(["--config", &config, "--check-config"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let shown = String::from_utf8_lossy(&check.stdout);
    assert!(
        shown.contains("remote (http://127.0.0.1/…), max-connections 1"),
        "{shown}"
    );
    assert!(shown.contains("max-connections 3"), "{shown}");
    assert!(!shown.contains("password=p"), "{shown}");
    let (child, addr, lines) = start(&["--config", &config], &[]);
    let startup = lines.last().unwrap();
    assert!(
        startup.contains("3 channels from 2 of 2 catalogs"),
        "{startup}"
    );
    assert!(lines.iter().all(|l| !l.contains("password=p")), "{lines:?}");
    let download = seen.lock().unwrap()[0].clone();
    assert!(
        download.contains("User-Agent: TiviMate/4.7.0")
            && download.contains("Referer: http://ref.example/"),
        "{download}"
    );
    terminate(child);
    let _ = addr;
}

#[test]
fn a_typo_in_the_config_file_is_refused_with_its_line() {
    let dir = temp_dir("typo");
    let config = dir.join("relay.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlisen = \"x\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:2:1: unknown setting `lisen`",
            config.display()
        )),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["--check-config"])
        .env("RELAY_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "RELAY_CONFIG names the file too"
    );
}

#[test]
fn sighup_rereads_the_config_file_and_a_broken_one_changes_nothing() {
    let dir = temp_dir("sighup");
    std::fs::write(
        dir.join("a.m3u"),
        "#EXTM3U\n#EXTINF:-1,A\nhttp://127.0.0.1:9/a.ts\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.m3u"),
        "#EXTM3U\n#EXTINF:-1,B\nhttp://127.0.0.1:9/b.ts\n",
    )
    .unwrap();
    let config = dir.join("relay.toml");
    let good = "listen = \"127.0.0.1:0\"\n[[source]]\npath = \"a.m3u\"\n";
    std::fs::write(&config, good).unwrap();
    let (child, addr, _) = start(&["--config", config.to_str().unwrap()], &[]);
    assert!(get(addr, "/health").contains("\"channels\":1"));
    let hup = || {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -HUP {}", child.id()))
            .status()
            .unwrap();
        assert!(status.success());
    };
    // A broken file (which would add a source): refused, nothing of it applies.
    std::fs::write(
        &config,
        format!("bogus = 1\n{good}[[source]]\npath = \"b.m3u\"\n"),
    )
    .unwrap();
    hup();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(get(addr, "/health").contains("\"channels\":1"));
    // A good file with a second source: both load, the first keeps its channel id.
    let id_before = get(addr, "/api/channels");
    std::fs::write(&config, format!("{good}[[source]]\npath = \"b.m3u\"\n")).unwrap();
    hup();
    let mut health = String::new();
    for _ in 0..50 {
        health = get(addr, "/health");
        if health.contains("\"channels\":2") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(health.contains("\"channels\":2"), "{health}");
    let first_id = |json: &str| json.split("\"id\":\"").nth(1).map(|s| s[..16].to_string());
    assert_eq!(first_id(&get(addr, "/api/channels")), first_id(&id_before));
    terminate(child);
}
