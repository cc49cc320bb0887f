//! The engine's stop signal, in two steps every task can await without knowing the server.
//!
//! 1. **Draining**: the listener stops accepting, connections waiting for their next request
//!    close, answers in progress finish (and close their connection). Streams keep playing.
//! 2. **Cut**: the shutdown grace is over; every stream still running ends now (its viewer sees
//!    a reset, its events say `stopped`).
//!
//! [`Trigger::drain`] starts step 1; whoever owns the grace (the server's accept loop) calls
//! [`Trigger::cut`] when it has passed. A dropped trigger counts as a cut.

use std::sync::Arc;
use tokio::sync::watch;

/// How far the engine is in stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Serving.
    Running,
    /// Not accepting; streams play on for the grace.
    Draining,
    /// Everything still running ends.
    Cut,
}

/// Moves the phase forward (never back). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Trigger {
    tx: Arc<watch::Sender<Phase>>,
}

/// Awaits the phases. Cheap to clone; each task holds its own.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Phase>,
}

/// A new signal, running.
pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(Phase::Running);
    (Trigger { tx: Arc::new(tx) }, Shutdown { rx })
}

impl Trigger {
    /// Step 1: stop accepting and let streams finish within the grace.
    pub fn drain(&self) {
        self.advance(Phase::Draining);
    }

    /// Step 2: end everything now.
    pub fn cut(&self) {
        self.advance(Phase::Cut);
    }

    fn advance(&self, to: Phase) {
        self.tx.send_if_modified(|p| {
            let later = *p < to;
            if later {
                *p = to;
            }
            later
        });
    }

    /// A receiver of this signal.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            rx: self.tx.subscribe(),
        }
    }
}

impl Shutdown {
    /// Resolves once draining (or cut) has begun, or the trigger is gone.
    pub async fn draining(&mut self) {
        let _ = self.rx.wait_for(|&p| p >= Phase::Draining).await;
    }

    /// Resolves once everything must end, or the trigger is gone.
    pub async fn cut(&mut self) {
        let _ = self.rx.wait_for(|&p| p >= Phase::Cut).await;
    }

    /// Whether draining (or cut) has begun.
    pub fn is_draining(&self) -> bool {
        *self.rx.borrow() >= Phase::Draining
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_only_move_forward_and_a_dropped_trigger_cuts() {
        let (trigger, mut s) = channel();
        assert!(!s.is_draining());
        trigger.drain();
        s.draining().await;
        assert!(s.is_draining());
        trigger.cut();
        trigger.drain();
        s.cut().await;
        let (trigger, mut s) = channel();
        drop(trigger);
        s.cut().await;
    }
}
