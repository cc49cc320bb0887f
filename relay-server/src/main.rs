//! `relay-server`: config file, environment and flags → [`relay_core::engine::Engine`].
//! Everything that decides behaviour lives in relay-core; this file only reads settings (in the
//! order defaults < config file < environment < flags), starts the engine, and handles signals
//! (SIGINT/SIGTERM stop with a drain, SIGHUP re-reads the settings and reloads the catalogs).

use relay_core::config::settings::{self, Arity, SETTINGS};
use relay_core::config::{Config, file};
use relay_core::engine::{Engine, EngineError};
use relay_core::log;
use std::path::PathBuf;
use std::process::ExitCode;

const HEAD: &str = "\
relay-server: an IPTV relay. Give it M3U catalogs; it serves one clean playlist and relays every stream.

usage: relay-server [--config FILE.toml] [--listen ADDR] [--public-url URL] [--catalog PATH|URL]... [options]

  --config FILE                      read settings from a TOML file (its keys are the names below;
                                     [[source]] tables for catalogs with headers and caps)
  --check-config                     print the effective settings (secrets redacted) and exit:
                                     0 when they are valid, 2 when not
";

const TAIL: &str = "\
  -h, --help                         this text
  -V, --version                      the version

Every option is also an environment variable RELAY_<NAME> (RELAY_LISTEN, RELAY_PUBLIC_URL, ...;
RELAY_CONFIG names the config file; RELAY_CATALOG takes several sources, one per line).
Precedence: flags > environment > config file > defaults; a list (--catalog, [[source]]) given
by a higher layer replaces the lower's. RELAY_LOG sets the log level: off, error, warn,
info (default), debug, trace. Durations: 500ms, 10s, 2m, 6h or plain seconds; sizes 65536, 512k, 32m.

Signals: SIGINT/SIGTERM stop (open streams get the shutdown grace), SIGHUP re-reads the settings
(a file that does not load is refused and the running settings stay) and reloads the catalogs.
";

/// The separator of several sources in `RELAY_CATALOG`: a newline, which no URL or sane path
/// holds (commas and semicolons appear in provider URLs).
const ENV_LIST_SEPARATOR: char = '\n';

/// What the command line asks for.
enum Action {
    Help,
    Version,
    Run(Args),
}

/// The command line, parsed but not yet applied.
struct Args {
    /// `--config FILE`.
    config: Option<PathBuf>,
    /// `--check-config`.
    check: bool,
    /// Every other `--name value`, in order.
    flags: Vec<(String, String)>,
}

fn parse_args(args: Vec<String>) -> Result<Action, String> {
    let mut it = args.into_iter();
    let mut parsed = Args {
        config: None,
        check: false,
        flags: Vec::new(),
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Action::Help),
            "-V" | "--version" => return Ok(Action::Version),
            "--check-config" => {
                parsed.check = true;
                continue;
            }
            _ => {}
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg:?} (see --help)"));
        };
        let (key, value) = match flag.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => {
                let value = it.next().ok_or_else(|| format!("--{flag} needs a value"))?;
                (flag.to_string(), value)
            }
        };
        if key == "config" {
            parsed.config = Some(PathBuf::from(value));
        } else if settings::find(&key).is_some() {
            parsed.flags.push((key, value));
        } else {
            return Err(format!("unknown option --{key} (see --help)"));
        }
    }
    Ok(Action::Run(parsed))
}

/// The settings: defaults, then the config file, then the environment, then the flags. The same
/// call on SIGHUP re-reads the file (the environment and flags do not change). The flag says
/// whether `state-dir` is the server's default place (set by nobody).
fn settings(args: &Args) -> Result<(Config, bool), String> {
    let mut config = Config::default();
    let path = args
        .config
        .clone()
        .or_else(|| std::env::var_os("RELAY_CONFIG").map(PathBuf::from));
    if let Some(path) = &path {
        file::load(&mut config, path).map_err(|e| e.to_string())?;
    }
    for s in SETTINGS {
        let Ok(value) = std::env::var(s.env()) else {
            continue;
        };
        let bad = |e: String| format!("{}: {e}", s.env());
        match s.arity {
            Arity::Many => {
                s.clear(&mut config);
                let parts = value.split(ENV_LIST_SEPARATOR).map(str::trim);
                for part in parts.filter(|p| !p.is_empty()) {
                    s.apply(&mut config, part).map_err(bad)?;
                }
            }
            Arity::One => s.apply(&mut config, &value).map_err(bad)?,
        }
    }
    let mut cleared = Vec::new();
    for (key, value) in &args.flags {
        let s = settings::find(key).expect("checked when parsed");
        if s.arity == Arity::Many && !cleared.contains(&s.name) {
            s.clear(&mut config);
            cleared.push(s.name);
        }
        s.apply(&mut config, value)
            .map_err(|e| format!("--{key}: {e}"))?;
    }
    let default_state = config.state_dir.is_none() && config.token_secret.is_none();
    if default_state {
        config.state_dir = default_state_dir();
    }
    Ok((config, default_state))
}

/// `$XDG_STATE_HOME/relay`, else `$HOME/.local/state/relay`.
fn default_state_dir() -> Option<PathBuf> {
    let nonempty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(state) = nonempty("XDG_STATE_HOME") {
        return Some(PathBuf::from(state).join("relay"));
    }
    nonempty("HOME").map(|home| PathBuf::from(home).join(".local/state/relay"))
}

/// `--check-config`: the effective settings, one `name = value` per line, secrets redacted.
fn print_settings(config: &Config) {
    for s in SETTINGS {
        let values = s.show(config);
        match (s.arity, values.as_slice()) {
            (_, []) => println!("# {} = (not set)", s.name),
            (Arity::One, [v]) => println!("{} = {v:?}", s.name),
            _ => {
                for v in values {
                    println!("{} += {v:?}", s.name);
                }
            }
        }
    }
}

fn main() -> ExitCode {
    if let Ok(level) = std::env::var("RELAY_LOG") {
        match log::Level::parse(&level) {
            Ok(level) => log::set_level(level),
            Err(e) => {
                eprintln!("relay-server: RELAY_LOG: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(Action::Help) => {
            print!("{HEAD}{}{TAIL}", settings::usage());
            return ExitCode::SUCCESS;
        }
        Ok(Action::Version) => {
            println!("relay-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Action::Run(args)) => args,
        Err(e) => {
            eprintln!("relay-server: {e}");
            return ExitCode::from(2);
        }
    };
    let (config, default_state) = match settings(&args) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("relay-server: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check {
        print_settings(&config);
        return ExitCode::SUCCESS;
    }
    run(config, default_state, &args)
}

fn run(mut config: Config, default_state: bool, args: &Args) -> ExitCode {
    let engine = match Engine::new(config.clone()) {
        Ok(engine) => engine,
        // The default place is only a convenience: without it, links last as long as the process.
        Err(e @ EngineError::State { .. }) if default_state => {
            log!(
                Warn,
                "{e}; HLS links will not survive a restart (set --state-dir or --token-secret)"
            );
            config.state_dir = None;
            match Engine::new(config) {
                Ok(engine) => engine,
                Err(e) => {
                    eprintln!("relay-server: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Err(e) => {
            eprintln!("relay-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let catalogs = engine.config().sources.len();
    // Handlers go in before anything is announced, so a signal sent right after the listening
    // line is never met by the default action (which kills without draining).
    let signals = match engine.block_on(async { Signals::install() }) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("relay-server: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = engine.reload();
    let addr = match engine.start() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("relay-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Listening on 0.0.0.0/::, each request's Host header names the host.
    let public = engine.config().public_url.clone().unwrap_or_else(|| {
        if addr.ip().is_unspecified() {
            format!("http://<host>:{}", addr.port())
        } else {
            format!("http://{addr}")
        }
    });
    log!(
        Info,
        "relay {} listening on {addr}: {} channels from {} of {catalogs} catalogs; playlist at {}/playlist.m3u8",
        env!("CARGO_PKG_VERSION"),
        report.channels,
        report.loaded,
        public,
    );
    if catalogs == 0 {
        log!(
            Warn,
            "no catalog given: pass --catalog PATH_OR_URL (or RELAY_CATALOG, or [[source]] in a --config file) with an M3U playlist; serving an empty playlist"
        );
    }
    engine.block_on(signals.wait(&engine, args));
    match engine.stop() {
        Ok(()) => {
            log!(Info, "relay stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("relay-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// SIGHUP: the settings read again and taken (or refused, keeping the running ones), then the
/// catalogs reloaded.
async fn reload(engine: &Engine, args: &Args) {
    match settings(args) {
        Ok((mut config, default_state)) => {
            if default_state && engine.config().state_dir.is_none() {
                // Started without the default state dir (it could not be used): keep it so.
                config.state_dir = None;
            }
            let waiting = engine.reconfigure(config);
            if !waiting.is_empty() {
                log!(
                    Warn,
                    "settings reloaded; changed but kept until a restart: {}",
                    waiting.join(", ")
                );
            } else {
                log!(Info, "settings reloaded");
            }
        }
        Err(e) => log!(Error, "settings not reloaded, the running ones stay: {e}"),
    }
    let report = engine.reload_async().await;
    log!(Info, "reloaded: {} channels", report.channels);
}

/// The signals the server acts on, installed on the engine's runtime.
#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Returns at SIGTERM or SIGINT; reloads at each SIGHUP.
    async fn wait(mut self, engine: &Engine, args: &Args) {
        loop {
            tokio::select! {
                _ = self.term.recv() => break,
                _ = self.int.recv() => break,
                _ = self.hup.recv() => reload(engine, args).await,
            }
        }
        log!(Info, "stopping");
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn wait(self, _engine: &Engine, _args: &Args) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
