//! A small pool of reusable values (infer requests): the lock is held only to take or return a
//! value, never while it is used.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Values handed out one caller at a time and given back on drop.
pub struct Pool<T> {
    idle: Mutex<Vec<T>>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
        }
    }
}

impl<T> Pool<T> {
    /// Takes an idle value, or makes a new one with `make` when none is idle.
    pub fn take<E>(&self, make: impl FnOnce() -> Result<T, E>) -> Result<Pooled<'_, T>, E> {
        let idle = self.lock().pop();
        let value = match idle {
            Some(value) => value,
            None => make()?,
        };
        Ok(Pooled {
            pool: self,
            value: Some(value),
        })
    }

    /// Number of idle values.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<T>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
            self.pool.lock().push(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_value_is_handed_out_again() {
        let pool = Pool::default();
        {
            let a = pool.take(|| Ok::<_, ()>(7)).unwrap();
            assert_eq!(*a, 7);
            assert_eq!(pool.idle(), 0);
        }
        assert_eq!(pool.idle(), 1);
        let b = pool.take(|| Ok::<_, ()>(9)).unwrap();
        assert_eq!(
            *b, 7,
            "the idle value is reused instead of making a new one"
        );
    }

    #[test]
    fn concurrent_loans_get_distinct_values() {
        let pool = Pool::default();
        let a = pool.take(|| Ok::<_, ()>(1)).unwrap();
        let b = pool.take(|| Ok::<_, ()>(2)).unwrap();
        assert_ne!(*a, *b);
        drop((a, b));
        assert_eq!(pool.idle(), 2);
    }
}
