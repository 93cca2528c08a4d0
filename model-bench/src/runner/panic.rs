//! Runs a bench function so that a panic becomes an error message (with its location) instead of
//! ending the run.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while a bench function runs on this thread: its panics are reported by the runner.
    static CATCHING: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL_HOOK: Once = Once::new();

/// Installs, once, a panic hook that records where a caught bench panicked and leaves every other
/// panic to the previous hook.
fn install_hook() {
    INSTALL_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let caught = CATCHING.with(|slot| {
                let mut slot = slot.borrow_mut();
                match slot.as_mut() {
                    Some(location) => {
                        *location = info
                            .location()
                            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                            .unwrap_or_default();
                        true
                    }
                    None => false,
                }
            });
            if !caught {
                previous(info);
            }
        }));
    });
}

/// Calls `f`, turning a panic into `Err("panicked at FILE:LINE:COL: MESSAGE")`.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    CATCHING.with(|slot| *slot.borrow_mut() = Some(String::new()));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    let location = CATCHING
        .with(|slot| slot.borrow_mut().take())
        .unwrap_or_default();
    result.map_err(|payload| {
        let message = payload_message(payload.as_ref());
        if location.is_empty() {
            format!("panicked: {message}")
        } else {
            format!("panicked at {location}: {message}")
        }
    })
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_message_with_its_location() {
        let error = catch(|| panic!("batch too large: {}", 64)).unwrap_err();
        assert!(error.starts_with("panicked at "), "{error}");
        assert!(error.contains("panic.rs:"), "{error}");
        assert!(error.ends_with("batch too large: 64"), "{error}");
        assert_eq!(catch(|| 5), Ok(5));
    }
}
