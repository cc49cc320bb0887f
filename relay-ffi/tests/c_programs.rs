//! C programs against the built library, driven from Rust: `tests/c/embed.c` linked statically
//! and built with `gcc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined`, and the
//! README's embedding example built through the installed header, `relay.pc` and the shared
//! library. Both talk to the relay over real sockets; the channel's origin runs in this test.
//!
//! The library is the one cargo built for this test run: `librelay.a` / `librelay.so` in
//! `target/debug/deps/`, beside this test's executable (cargo builds every crate type of
//! `relay-ffi` for its tests, but copies them up to `target/debug/` only on `cargo build`).
//! gcc (and pkg-config for the README example) must be installed: a missing tool fails the
//! test, it never passes silently.
//!
//! With `RELAY_FFI_VALGRIND=1` (see `tests/valgrind.sh`), `embed.c` is built without sanitizers
//! and run under valgrind instead, which must report no errors and no definite or indirect leaks.

#[path = "../../relay-core/tests/common/mod.rs"]
mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one C program may run before the test kills it and fails (a safety net only;
/// valgrind is slow, so it gets more).
const RUN_LIMIT: Duration = Duration::from_secs(120);
const RUN_LIMIT_VALGRIND: Duration = Duration::from_secs(600);

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the `librelay.a` and `librelay.so` built with this test.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().to_path_buf();
    for lib in ["librelay.a", "librelay.so"] {
        assert!(
            dir.join(lib).exists(),
            "{lib} not found in {} (cargo builds it with this test)",
            dir.display()
        );
    }
    dir
}

/// A scratch directory for this test's outputs.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("relay-ffi-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The system libraries a static link needs: `Libs.private` of `relay.pc.in`.
fn static_link_libs() -> Vec<String> {
    let pc = std::fs::read_to_string(crate_dir().join("relay.pc.in")).unwrap();
    let line = pc.lines().find_map(|l| l.strip_prefix("Libs.private:"));
    line.unwrap().split_whitespace().map(String::from).collect()
}

/// Runs a build tool; a missing tool or a failed build fails the test with its output.
fn run_tool(cmd: &mut Command) {
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run {:?}: {e} (install it: apt-get install gcc pkg-config)",
            cmd.get_program()
        ),
    };
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn valgrind_mode() -> bool {
    std::env::var_os("RELAY_FFI_VALGRIND").is_some_and(|v| v == "1")
}

/// Waits for a child within `limit`; kills it and fails past that.
fn wait_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn embed_c_runs_clean_under_sanitizers_or_valgrind() {
    let valgrind = valgrind_mode();
    let dir = scratch("embed");
    let exe = dir.join("embed");
    let mut gcc = Command::new("gcc");
    gcc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"]);
    if valgrind {
        gcc.arg("-O1");
    } else {
        gcc.args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ]);
    }
    gcc.arg("-I")
        .arg(crate_dir().join("../include"))
        .arg(crate_dir().join("tests/c/embed.c"))
        .arg(lib_dir().join("librelay.a"))
        .args(static_link_libs())
        .arg("-o")
        .arg(&exe);
    run_tool(&mut gcc);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let origin = rt.block_on(Origin::start());
    let ts = Arc::new(ts_packets(1000));
    origin.route("/live.ts", Behavior::FileNoRanges { data: ts.clone() });
    // A live stream that outlasts the program's interest in it (it hangs up after 8 KiB).
    origin.route(
        "/endless.ts",
        Behavior::Live {
            data: Arc::new(ts_packets(100_000)),
            piece: 188 * 64,
            pause: Duration::from_millis(5),
        },
    );

    let (mut cmd, limit) = if valgrind {
        let mut cmd = Command::new("valgrind");
        cmd.args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=1",
        ])
        .arg(&exe);
        (cmd, RUN_LIMIT_VALGRIND)
    } else {
        (Command::new(&exe), RUN_LIMIT)
    };
    cmd.arg(origin.addr.to_string())
        .arg(ts.len().to_string())
        .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap());
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => panic!("cannot run {:?}: {e}", cmd.get_program()),
    };
    let status = wait_within(&mut child, limit, "embed");
    let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap();
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap();
    assert!(
        status.success(),
        "embed failed ({status}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    println!("--- embed stdout\n{stdout}--- embed stderr\n{stderr}");
    assert!(stdout.contains("embed: ok"), "{stdout}");
    assert!(
        stdout.contains(&format!(": {} bytes", ts.len())),
        "{stdout}"
    );
    assert!(stdout.contains("hls: #EXTM3U"), "{stdout}");
    assert!(stdout.contains("hung up a live stream"), "{stdout}");
    assert!(
        stderr.contains("relay log [3] relay engine listening on 127.0.0.1:"),
        "log lines reach the C callback: {stderr}"
    );
    if valgrind {
        assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
        let summary = ["heap usage", "in use at exit", "lost:", "ERROR SUMMARY"];
        for line in stderr
            .lines()
            .filter(|l| summary.iter().any(|s| l.contains(s)))
        {
            println!("{line}");
        }
    }
    assert_eq!(origin.seen("/live.ts").len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fenced block of the README: the one after the `<!-- {marker} -->` line.
fn readme_block(marker: &str, lang: &str) -> String {
    let readme = std::fs::read_to_string(crate_dir().join("../README.md")).unwrap();
    let start = readme
        .find(&format!("<!-- {marker} -->"))
        .unwrap_or_else(|| panic!("README has no {marker} block"));
    let fence = format!("```{lang}\n");
    let block = &readme[start..];
    let code = &block[block.find(&fence).unwrap() + fence.len()..];
    code[..code.find("```").unwrap()].to_string()
}

/// Runs the README example binary: it prints the playlist URL, serves it, and stops cleanly
/// when its standard input closes.
fn run_readme_example(exe: &Path, catalog: &Path, lib_path: &Path) {
    let mut child = Command::new(exe)
        .arg(catalog)
        .env("LD_LIBRARY_PATH", lib_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let Some(url) = first.trim().strip_prefix("playlist: http://") else {
        let _ = child.kill();
        panic!("{}: unexpected first line {first:?}", exe.display())
    };
    let (addr, path) = url.split_once('/').unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(
        body.starts_with("HTTP/1.1 200 ") && body.contains("Example One"),
        "{body}"
    );
    drop(child.stdin.take()); // EOF on stdin: the example stops the relay and exits
    let status = wait_within(&mut child, RUN_LIMIT, "the README example");
    assert!(status.success(), "{}: {status}", exe.display());
    assert!(TcpStream::connect(addr).is_err(), "stopped");
}

#[test]
fn readme_example_builds_with_pkg_config_and_serves() {
    let dir = scratch("readme");
    let prefix = dir.join("prefix");
    run_tool(
        Command::new("sh")
            .arg(crate_dir().join("install.sh"))
            .arg(&prefix)
            .arg(lib_dir()),
    );
    std::fs::write(dir.join("serve.c"), readme_block("c-example", "c")).unwrap();
    let pc_path = prefix.join("lib/pkgconfig");
    // The README's build commands, as written (shared `serve`, static `serve-static`).
    run_tool(
        Command::new("sh")
            .args(["-e", "-c", &readme_block("c-build", "sh")])
            .current_dir(&dir)
            .env("PKG_CONFIG_PATH", &pc_path),
    );
    // And free of warnings under the project's strict flags.
    run_tool(
        Command::new("sh")
            .args([
                "-e",
                "-c",
                "gcc -std=c11 -Wall -Wextra -Werror -fsyntax-only serve.c $(pkg-config --cflags relay)",
            ])
            .current_dir(&dir)
            .env("PKG_CONFIG_PATH", &pc_path),
    );

    let catalog = dir.join("channels.m3u");
    std::fs::write(
        &catalog,
        "#EXTM3U\n#EXTINF:-1 tvg-id=\"x\",Example One\nhttp://127.0.0.1:9/one.ts\n",
    )
    .unwrap();
    run_readme_example(&dir.join("serve"), &catalog, &prefix.join("lib"));
    let empty = dir.join("no-libs");
    std::fs::create_dir_all(&empty).unwrap();
    run_readme_example(&dir.join("serve-static"), &catalog, &empty);
    std::fs::remove_dir_all(&dir).unwrap();
}
