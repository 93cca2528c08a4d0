//! One lock for the tests of a binary that time things or start load or fixture processes: they
//! share two cores, and one at a time keeps them from skewing each other's figures.

use std::sync::{Mutex, MutexGuard};

pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}
