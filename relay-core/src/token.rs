//! Opaque tokens naming HLS sub-resources: `/r/{token}.{ext}`.
//!
//! A token carries the channel it belongs to, the kind of resource (playlist, segment, key, …),
//! the upstream URL and an expiry, sealed with ChaCha20-Poly1305 (ring). Sealing both signs and
//! hides: a client can neither forge nor alter a token, nor read the upstream URL (provider URLs
//! often carry account credentials) out of it. The nonce is an HMAC-SHA256 of the contents
//! (a synthetic IV), so a given resource always gets the same token within one expiry bucket:
//! tokens are stable across playlist refreshes, and nonces repeat only for identical contents.
//!
//! The relay fetches only URLs that come out of a token it sealed itself, never a URL or path a
//! client wrote. Keys come from a configured secret or a per-instance secret kept on disk, so
//! tokens survive restarts and several instances behind a load balancer can share one secret.
//!
//! Layout: `base64url(version ‖ nonce[12] ‖ seal(kind ‖ expires_u32 ‖ id_len ‖ id ‖ url) ‖ tag[16])`.

use crate::proto::hls::Kind;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Format version; a token of another version is rejected.
pub const TOKEN_VERSION: u8 = 1;
/// Longest upstream URL a token may carry (a token is about 4/3 of it plus 60 characters and
/// must fit in a request line).
pub const MAX_TOKEN_URL_BYTES: usize = 4096;
/// Longest token accepted from a client, in characters.
pub const MAX_TOKEN_CHARS: usize = (MAX_TOKEN_URL_BYTES + 300) * 4 / 3;
/// Expiry times are rounded up to a multiple of this, so a resource keeps one token for a while.
pub const EXPIRY_BUCKET: Duration = Duration::from_secs(15 * 60);
/// Shortest configured secret accepted.
pub const MIN_SECRET_BYTES: usize = 16;
/// Name of the secret file inside `state-dir`.
pub const SECRET_FILE: &str = "token.key";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// What a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The channel the resource belongs to (its headers apply to the fetch).
    pub channel: String,
    pub kind: Kind,
    /// The absolute upstream URL.
    pub url: String,
    /// Seconds since the UNIX epoch after which the token is refused.
    pub expires: u32,
}

/// Why a token was refused (all of them answer 404: a client learns nothing from the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours at all: bad characters, length, version or layout.
    Malformed,
    /// The seal does not verify: forged, altered, or sealed with another secret.
    Forged,
    /// Sealed by us but past its expiry.
    Expired,
    /// The URL or channel id is too long to seal.
    TooLong,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "malformed token",
            TokenError::Forged => "token does not verify",
            TokenError::Expired => "token expired",
            TokenError::TooLong => "URL too long for a token",
        })
    }
}

impl std::error::Error for TokenError {}

/// The keys that seal and open tokens, derived from one secret.
pub struct Keys {
    aead: LessSafeKey,
    siv: hmac::Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

impl Keys {
    /// Keys derived from `secret` (any length; the same secret gives the same keys).
    pub fn from_secret(secret: &[u8]) -> Keys {
        let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let enc = hmac::sign(&master, b"relay token v1 encryption");
        let siv = hmac::sign(&master, b"relay token v1 nonce");
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, enc.as_ref())
            .expect("a 32-byte key suits ChaCha20-Poly1305");
        Keys {
            aead: LessSafeKey::new(unbound),
            siv: hmac::Key::new(hmac::HMAC_SHA256, siv.as_ref()),
        }
    }

    /// Keys from a fresh random secret: tokens die with the process.
    pub fn random() -> Keys {
        Keys::from_secret(&random_secret())
    }

    /// Seals `token` into its opaque string form.
    pub fn seal(&self, token: &Token) -> Result<String, TokenError> {
        if token.url.len() > MAX_TOKEN_URL_BYTES || token.channel.len() > usize::from(u8::MAX) {
            return Err(TokenError::TooLong);
        }
        let mut plain = Vec::with_capacity(6 + token.channel.len() + token.url.len() + TAG_LEN);
        plain.push(token.kind.code());
        plain.extend_from_slice(&token.expires.to_be_bytes());
        plain.push(token.channel.len() as u8);
        plain.extend_from_slice(token.channel.as_bytes());
        plain.extend_from_slice(token.url.as_bytes());
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&hmac::sign(&self.siv, &plain).as_ref()[..NONCE_LEN]);
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([TOKEN_VERSION]),
                &mut plain,
            )
            .map_err(|_| TokenError::TooLong)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + plain.len());
        sealed.push(TOKEN_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&plain);
        Ok(crate::proto::base64::encode_url(&sealed))
    }

    /// Opens a token string; `now` is seconds since the UNIX epoch.
    pub fn open(&self, token: &str, now: u64) -> Result<Token, TokenError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Malformed);
        }
        let sealed =
            crate::proto::base64::decode_url(token.as_bytes()).ok_or(TokenError::Malformed)?;
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != TOKEN_VERSION {
            return Err(TokenError::Malformed);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
        let mut body = sealed[1 + NONCE_LEN..].to_vec();
        let plain = self
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([TOKEN_VERSION]),
                &mut body,
            )
            .map_err(|_| TokenError::Forged)?;
        // Only our own seals get here, so a bad layout means a bug or a changed format.
        let (&kind, rest) = plain.split_first().ok_or(TokenError::Malformed)?;
        let kind = Kind::from_code(kind).ok_or(TokenError::Malformed)?;
        let (expires, rest) = rest.split_first_chunk::<4>().ok_or(TokenError::Malformed)?;
        let expires = u32::from_be_bytes(*expires);
        let (&id_len, rest) = rest.split_first().ok_or(TokenError::Malformed)?;
        let (channel, url) = rest
            .split_at_checked(usize::from(id_len))
            .ok_or(TokenError::Malformed)?;
        if u64::from(expires) < now {
            return Err(TokenError::Expired);
        }
        Ok(Token {
            channel: String::from_utf8(channel.to_vec()).map_err(|_| TokenError::Malformed)?,
            kind,
            url: String::from_utf8(url.to_vec()).map_err(|_| TokenError::Malformed)?,
            expires,
        })
    }
}

impl Keys {
    /// The keys of an instance: from `secret` when given (the same on every instance behind a
    /// load balancer), else from the secret kept in `state_dir` (created there once), else
    /// random (tokens then end with the process). Fails only when `state_dir` is given and the
    /// secret cannot be read or created there: the error names the file.
    pub fn for_instance(
        secret: Option<&[u8]>,
        state_dir: Option<&Path>,
    ) -> Result<Keys, (std::path::PathBuf, std::io::Error)> {
        if let Some(secret) = secret {
            return Ok(Keys::from_secret(secret));
        }
        let Some(dir) = state_dir else {
            return Ok(Keys::random());
        };
        let secret = load_or_create_secret(dir).map_err(|e| (dir.join(SECRET_FILE), e))?;
        Ok(Keys::from_secret(&secret))
    }
}

/// Seconds since the UNIX epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The expiry for a token sealed at `now` that must live at least `ttl`: rounded up to an
/// [`EXPIRY_BUCKET`] boundary so tokens stay stable within the bucket.
pub fn expiry(now: u64, ttl: Duration) -> u32 {
    let bucket = EXPIRY_BUCKET.as_secs();
    let at = now.saturating_add(ttl.as_secs());
    let rounded = at.div_ceil(bucket).saturating_mul(bucket);
    u32::try_from(rounded).unwrap_or(u32::MAX)
}

fn random_secret() -> [u8; 32] {
    let mut secret = [0u8; 32];
    SystemRandom::new()
        .fill(&mut secret)
        .expect("the system random source works");
    secret
}

/// The per-instance secret kept in `dir`/[`SECRET_FILE`]: read if present, else created (64 hex
/// digits, owner-only permissions on Unix). Creating the directory is part of it.
pub fn load_or_create_secret(dir: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{ErrorKind, Write};
    let path = dir.join(SECRET_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => return secret_from_file(&bytes, &path),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(dir)?;
    let hex: String = random_secret().iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(&path) {
        Ok(mut file) => {
            file.write_all(format!("{hex}\n").as_bytes())?;
            file.sync_all()?;
            Ok(hex.into_bytes())
        }
        // Another instance created it first: use theirs.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            secret_from_file(&std::fs::read(&path)?, &path)
        }
        Err(e) => Err(e),
    }
}

fn secret_from_file(bytes: &[u8], path: &Path) -> std::io::Result<Vec<u8>> {
    let secret = bytes.trim_ascii();
    if secret.len() < MIN_SECRET_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} holds fewer than {MIN_SECRET_BYTES} bytes of secret",
                path.display()
            ),
        ));
    }
    Ok(secret.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Token {
        Token {
            channel: "0123456789abcdef".into(),
            kind: Kind::Segment,
            url: "http://provider.example/live/user/pass/seg-1.ts?t=abc".into(),
            expires: 2_000_000_000,
        }
    }

    #[test]
    fn round_trip_hides_the_url() {
        let keys = Keys::from_secret(b"a secret of some length");
        let s = keys.seal(&sample()).unwrap();
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(!s.contains("provider"));
        assert_eq!(keys.open(&s, 1_000_000_000).unwrap(), sample());
        // Deterministic: the same contents give the same token.
        assert_eq!(keys.seal(&sample()).unwrap(), s);
    }

    #[test]
    fn expired_forged_and_foreign_tokens_are_refused() {
        let keys = Keys::from_secret(b"a secret of some length");
        let s = keys.seal(&sample()).unwrap();
        assert_eq!(keys.open(&s, 2_000_000_001), Err(TokenError::Expired));
        let other = Keys::from_secret(b"another secret of some length");
        assert_eq!(other.open(&s, 0), Err(TokenError::Forged));
        assert_eq!(keys.open("", 0), Err(TokenError::Malformed));
        assert_eq!(keys.open("not/a.token", 0), Err(TokenError::Malformed));
        assert_eq!(
            keys.open(&"A".repeat(MAX_TOKEN_CHARS + 4), 0),
            Err(TokenError::Malformed)
        );
        let long = Token {
            url: "x".repeat(MAX_TOKEN_URL_BYTES + 1),
            ..sample()
        };
        assert_eq!(keys.seal(&long), Err(TokenError::TooLong));
    }

    #[test]
    fn expiry_rounds_up_to_the_bucket() {
        let b = EXPIRY_BUCKET.as_secs();
        assert_eq!(u64::from(expiry(0, Duration::from_secs(1))), b);
        assert_eq!(u64::from(expiry(b, Duration::ZERO)), b);
        assert_eq!(expiry(u64::MAX, Duration::from_secs(1)), u32::MAX);
        let e = u64::from(expiry(1_000_003, Duration::from_secs(3600)));
        assert!(e >= 1_003_603 && e < 1_003_603 + b && e % b == 0);
    }

    #[test]
    fn secret_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("relay-token-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_create_secret(&dir).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_secret(&dir).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "secret readable by others: {mode:o}");
        }
        std::fs::write(dir.join(SECRET_FILE), b"short\n").unwrap();
        assert!(load_or_create_secret(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn kind() -> impl Strategy<Value = Kind> {
        (1u8..=7).prop_map(|c| Kind::from_code(c).unwrap())
    }

    proptest! {
        #[test]
        fn any_token_round_trips(
            channel in "[0-9a-f]{0,40}",
            kind in kind(),
            url in "[ -~]{0,300}",
            expires in any::<u32>(),
        ) {
            let keys = Keys::from_secret(b"proptest secret!!");
            let t = Token { channel, kind, url, expires };
            let s = keys.seal(&t).unwrap();
            prop_assert_eq!(keys.open(&s, u64::from(expires)).unwrap(), t);
        }

        #[test]
        fn any_tampering_is_refused(flip in any::<usize>(), bit in 0u8..6) {
            let keys = Keys::from_secret(b"proptest secret!!");
            let s = keys.seal(&sample()).unwrap();
            let mut bytes = s.into_bytes();
            let i = flip % bytes.len();
            // Swap one character for another of the alphabet.
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let pos = ALPHABET.iter().position(|&c| c == bytes[i]).unwrap();
            bytes[i] = ALPHABET[pos ^ (1 << bit)];
            let tampered = String::from_utf8(bytes).unwrap();
            prop_assert!(keys.open(&tampered, 0).is_err());
        }

        #[test]
        fn garbage_never_panics(s in "[A-Za-z0-9_-]{0,200}") {
            let keys = Keys::from_secret(b"proptest secret!!");
            prop_assert!(keys.open(&s, 0).is_err());
        }
    }
}
