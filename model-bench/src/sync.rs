//! Locking shared state that a panicking holder may have poisoned: what it guards (results so
//! far, recorders, connection slots) is still sound, so it is used rather than lost.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
