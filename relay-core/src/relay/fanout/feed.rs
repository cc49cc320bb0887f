//! The upstream a shared channel's reader pulls from, and how its bytes are cut into chunks.

use super::{BATCH_DELAY, FEED_READ_BYTES};
use crate::proto::ts::{Aligner, PACKET, Scanner, looks_like_ts};
use crate::upstream::{self, UpstreamError};
use bytes::Bytes;
use tokio::time::{Instant, timeout_at};

/// The upstream a reader pulls from, switchable mid-stream.
#[derive(Debug)]
pub struct Feed {
    body: upstream::Body,
    aligner: Aligner,
    /// Decided on the first bytes: the body is not MPEG-TS (a radio stream on a channel without
    /// extension, say), so it is passed on as it comes, joined at the live edge.
    raw: Option<bool>,
    /// Set by [`Feed::switch`]: every viewer resumes at the next random-access point.
    switched: bool,
    /// How the body ended inside a batch, reported on the next call.
    ended: Option<Result<(), UpstreamError>>,
}

impl Feed {
    pub fn new(mut body: upstream::Body) -> Feed {
        body.limit_reads(FEED_READ_BYTES);
        Feed {
            body,
            aligner: Aligner::new(),
            raw: None,
            switched: false,
            ended: None,
        }
    }

    /// Continues from another upstream body: drops the partial packet of the old one; viewers
    /// skip to the next random-access point so nobody sees a broken picture.
    pub fn switch(&mut self, mut body: upstream::Body) {
        body.limit_reads(FEED_READ_BYTES);
        self.body = body;
        self.aligner.reset();
        self.raw = None;
        self.switched = true;
        self.ended = None;
    }

    /// The next upstream to switch to when this one ends or fails (failover, schedules). None yet.
    pub fn next_upstream(&mut self) -> Option<upstream::Body> {
        None
    }

    fn push(&mut self, piece: Bytes, out: &mut Vec<Bytes>) {
        let raw = *self.raw.get_or_insert_with(|| !looks_like_ts(&piece));
        if raw {
            out.push(piece);
        } else {
            self.aligner.push(piece, out);
        }
    }

    /// Reads one batch of pieces of up to `max` bytes (see [`BATCH_BYTES`], [`BATCH_DELAY`]; a
    /// channel with one viewer gains nothing from batching and reads one piece at a time, so
    /// it holds no more than a pass-through would). `Ok(false)`: the body
    /// ended. `Body::chunk` only awaits socket reads, so a batch cut short loses nothing.
    pub(super) async fn batch(
        &mut self,
        out: &mut Vec<Bytes>,
        max: usize,
    ) -> Result<bool, UpstreamError> {
        if let Some(ended) = self.ended.take() {
            return ended.map(|()| false);
        }
        let Some(first) = self.body.chunk().await? else {
            return Ok(false);
        };
        let mut bytes = first.len();
        self.push(first, out);
        let deadline = Instant::now() + BATCH_DELAY;
        while bytes < max {
            match timeout_at(deadline, self.body.chunk()).await {
                Ok(Ok(Some(piece))) => {
                    bytes += piece.len();
                    self.push(piece, out);
                }
                // The end or an error is reported on the next call.
                Ok(Ok(None)) => {
                    self.ended = Some(Ok(()));
                    break;
                }
                Ok(Err(e)) => {
                    self.ended = Some(Err(e));
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(true)
    }
}

/// A chunk and what it holds: starts with a PAT, contains the keyframe that makes the latest
/// PAT a random-access point.
pub(super) type Piece = (Bytes, bool, bool);

/// Cuts a run of whole packets at every PAT.
pub(super) fn cut(scanner: &mut Scanner, mut run: Bytes, out: &mut Vec<Piece>) {
    // `run` loses its front at every cut; `at` is where it now starts in the original run.
    let mut at = 0;
    let mut pat_start = false;
    let mut ra = false;
    let n = run.len() / PACKET;
    for i in 0..n {
        let here = i * PACKET;
        let info = match run.get(here - at..here - at + PACKET) {
            Some(p) => scanner.packet(p),
            None => break,
        };
        if info.pat {
            if here > at {
                out.push((run.split_to(here - at), pat_start, ra));
                at = here;
            }
            pat_start = true;
            ra = false;
        }
        if info.random_access {
            ra = true;
        }
    }
    if !run.is_empty() {
        out.push((run, pat_start, ra));
    }
}

impl Feed {
    /// The body is not MPEG-TS: it is passed on as it comes.
    pub(super) fn is_raw(&self) -> bool {
        self.raw == Some(true)
    }

    /// Whether the feed switched upstreams since the last call.
    pub(super) fn take_switched(&mut self) -> bool {
        std::mem::take(&mut self.switched)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{gop, middle};
    use super::*;

    #[test]
    fn cut_starts_a_chunk_at_every_pat_and_marks_random_access() {
        let mut scanner = Scanner::new();
        let mut out = Vec::new();
        let run = [middle(), gop(), gop()].concat();
        cut(&mut scanner, Bytes::from(run.clone()), &mut out);
        let lens: Vec<usize> = out.iter().map(|(c, _, _)| c.len()).collect();
        assert_eq!(lens, [2 * PACKET, 5 * PACKET, 5 * PACKET]);
        let flags: Vec<(bool, bool)> = out.iter().map(|&(_, p, r)| (p, r)).collect();
        assert_eq!(flags, [(false, false), (true, true), (true, true)]);
        assert_eq!(
            out.iter()
                .flat_map(|(c, _, _)| c.to_vec())
                .collect::<Vec<_>>(),
            run
        );
    }
}
