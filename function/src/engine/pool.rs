//! A bounded pool of reusable values (SpeechT5's per-utterance inference slots): a caller takes
//! an idle value, or makes a new one while the pool is under capacity, or waits for one to come
//! back. The lock is held only to take or return a value, never while the value is used.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Up to `capacity` values, each handed to one caller at a time and given back on drop.
pub struct Pool<T> {
    state: Mutex<State<T>>,
    returned: Condvar,
    capacity: usize,
}

struct State<T> {
    idle: Vec<T>,
    /// Values in existence (idle, on loan or being made).
    created: usize,
}

impl<T> Pool<T> {
    /// A pool of at most `capacity` (≥ 1) values, starting with `initial` idle ones.
    pub fn new(capacity: usize, initial: Vec<T>) -> Self {
        let capacity = capacity.max(initial.len()).max(1);
        let created = initial.len();
        Self {
            state: Mutex::new(State {
                idle: initial,
                created,
            }),
            returned: Condvar::new(),
            capacity,
        }
    }

    /// Takes an idle value; makes one with `make` if none is idle and the pool is under capacity
    /// (without holding the lock); otherwise waits until a value is returned.
    pub fn take<E>(&self, make: impl FnOnce() -> Result<T, E>) -> Result<Pooled<'_, T>, E> {
        let mut state = self.lock();
        loop {
            if let Some(value) = state.idle.pop() {
                return Ok(self.loan(value));
            }
            if state.created < self.capacity {
                state.created += 1;
                drop(state);
                return match make() {
                    Ok(value) => Ok(self.loan(value)),
                    Err(error) => {
                        self.lock().created -= 1;
                        self.returned.notify_one();
                        Err(error)
                    }
                };
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Most values the pool will hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Values made so far.
    pub fn created(&self) -> usize {
        self.lock().created
    }

    fn loan(&self, value: T) -> Pooled<'_, T> {
        Pooled {
            pool: self,
            value: Some(value),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A value on loan from a [`Pool`]; returns to it when dropped.
pub struct Pooled<'a, T> {
    pool: &'a Pool<T>,
    value: Option<T>,
}

impl<T> Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_ref().expect("value present until drop")
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("value present until drop")
    }
}

impl<T> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.pool.lock().idle.push(value);
            self.pool.returned.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn a_returned_value_is_handed_out_again_instead_of_a_new_one() {
        let pool = Pool::new(2, vec![7]);
        drop(pool.take(|| Ok::<_, ()>(9)).unwrap());
        assert_eq!(*pool.take(|| Ok::<_, ()>(9)).unwrap(), 7);
        assert_eq!(pool.created(), 1);
    }

    #[test]
    fn concurrent_loans_get_distinct_values_up_to_capacity() {
        let pool = Pool::new(2, vec![1]);
        let a = pool.take(|| Ok::<_, ()>(2)).unwrap();
        let b = pool.take(|| Ok::<_, ()>(2)).unwrap();
        assert_ne!(*a, *b);
        assert_eq!(pool.created(), 2);
    }

    #[test]
    fn at_capacity_a_caller_waits_for_a_returned_value() {
        let pool = Pool::new(1, vec![1]);
        let made = AtomicUsize::new(0);
        let held = pool.take(|| Ok::<_, ()>(0)).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let v = pool.take(|| {
                    made.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ()>(99)
                });
                *v.unwrap()
            });
            std::thread::sleep(Duration::from_millis(50));
            assert!(!waiter.is_finished(), "the second caller must wait");
            drop(held);
            assert_eq!(waiter.join().unwrap(), 1);
        });
        assert_eq!(
            made.load(Ordering::SeqCst),
            0,
            "nothing is made beyond capacity"
        );
    }

    #[test]
    fn a_failed_make_frees_its_place() {
        let pool: Pool<u8> = Pool::new(1, vec![]);
        assert!(pool.take(|| Err::<u8, _>("boom")).is_err());
        assert_eq!(*pool.take(|| Ok::<_, ()>(5)).unwrap(), 5);
    }
}
