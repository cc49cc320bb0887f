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
