//! Backpressure, per model: at most `slots` utterances synthesize at once and at most `max_queue`
//! more wait, each for at most the queue timeout; a request beyond that is answered 429 with
//! `Retry-After` at once instead of piling up. A request's places are held until its synthesis
//! has really stopped (finished, cancelled or out of time), so capacity is never counted free
//! while a model still works for a client that left.

use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::ApiError;

/// One model's slots and queue.
#[derive(Debug)]
pub struct Admission {
    /// Running plus waiting requests.
    places: std::sync::Arc<Semaphore>,
    /// Running requests.
    slots: std::sync::Arc<Semaphore>,
    capacity: usize,
    queue_timeout: Duration,
}

/// A request's admission: a slot to synthesize in, held until dropped.
#[derive(Debug)]
pub struct Admitted {
    _place: OwnedSemaphorePermit,
    _slot: OwnedSemaphorePermit,
}

impl Admission {
    /// `slots` running and `max_queue` waiting, each waiting at most `queue_timeout`.
    pub fn new(slots: usize, max_queue: usize, queue_timeout: Duration) -> Self {
        let slots = slots.max(1);
        Self {
            places: std::sync::Arc::new(Semaphore::new(slots + max_queue)),
            slots: std::sync::Arc::new(Semaphore::new(slots)),
            capacity: slots + max_queue,
            queue_timeout,
        }
    }

    /// Waits for a slot: 429 at once when the queue is full, or when none came free within the
    /// queue timeout (or before `deadline`, the request's own time limit, whichever is first).
    pub async fn enter(&self, deadline: Option<Instant>) -> Result<Admitted, ApiError> {
        let place = self
            .places
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Saturated {
                retry_after_secs: 1,
                waited_secs: None,
            })?;
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(Admitted {
                _place: place,
                _slot: slot,
            });
        }
        let mut until = Instant::now() + self.queue_timeout;
        if let Some(deadline) = deadline {
            until = until.min(deadline);
        }
        let waited = self.queue_timeout.as_secs_f64().ceil() as u32;
        match tokio::time::timeout_at(until, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(Admitted {
                _place: place,
                _slot: slot,
            }),
            _ => Err(ApiError::Saturated {
                retry_after_secs: 1,
                waited_secs: Some(waited.max(1)),
            }),
        }
    }

    /// Places (running plus waiting) free now.
    pub fn available(&self) -> usize {
        self.places.available_permits()
    }

    /// Places in all.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_slots_requests_wait_and_beyond_the_queue_they_are_refused() {
        let admission = Admission::new(1, 1, Duration::from_millis(200));
        let running = admission.enter(None).await.unwrap();
        let started = Instant::now();
        let (waiting, refused) = tokio::join!(admission.enter(None), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            admission.enter(None).await
        });
        assert!(
            matches!(
                refused,
                Err(ApiError::Saturated {
                    waited_secs: None,
                    ..
                })
            ),
            "the queue is full: refused at once"
        );
        assert!(
            matches!(
                waiting,
                Err(ApiError::Saturated {
                    waited_secs: Some(_),
                    ..
                })
            ),
            "no slot came free within the queue timeout"
        );
        assert!(started.elapsed() >= Duration::from_millis(190));
        drop(running);
        assert_eq!(admission.available(), 2);
    }

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_waiting_request() {
        let admission = Admission::new(1, 4, Duration::from_secs(5));
        let running = admission.enter(None).await.unwrap();
        let (second, ()) = tokio::join!(admission.enter(None), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(running);
        });
        assert!(second.is_ok());
    }

    #[tokio::test]
    async fn the_request_deadline_cuts_the_wait_short() {
        let admission = Admission::new(1, 4, Duration::from_secs(30));
        let _running = admission.enter(None).await.unwrap();
        let started = Instant::now();
        let deadline = Instant::now() + Duration::from_millis(100);
        assert!(admission.enter(Some(deadline)).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
