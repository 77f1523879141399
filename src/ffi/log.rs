//! The library's `log` records, handed to a C callback.
//!
//! Records of this library's own targets (`apiretry`, `apiretry::probe`, ...)
//! pass at the level C asks for; those of the crates below it (ureq,
//! rustls) only at warnings and errors, because their debug and trace
//! records show raw wire data, credentials included (ureq-proto hex-dumps
//! each request at trace level).

use std::ffi::{c_char, c_void, CString};
use std::sync::{OnceLock, PoisonError, RwLock};

use super::client::UserData;
use super::{apiretry_result, guard};

/// A log record's severity (`apiretry_set_log_callback`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_log_level {
    /// Nothing is logged.
    Off = 0,
    /// A failure the library could not handle.
    Error = 1,
    /// Something the program should look at (a dropped probe thread, ...).
    Warn = 2,
    /// Changes of state: connectivity lost and back, token refreshed.
    Info = 3,
    /// Each attempt and decision.
    Debug = 4,
    /// Everything this library logs.
    Trace = 5,
}

/// Called with each record: its `APIRETRY_LOG_LEVEL_*`, its target (e.g.
/// "apiretry::probe") and message, NUL-terminated, valid during the call
/// only. Called on whichever thread logs, possibly several at once.
pub type apiretry_log_callback = Option<
    extern "C" fn(
        user_data: *mut c_void,
        level: u32,
        target: *const c_char,
        message: *const c_char,
    ),
>;

type Sink = (
    extern "C" fn(*mut c_void, u32, *const c_char, *const c_char),
    UserData,
);

/// The callback, if any; records are written under the read lock, so once
/// a new callback (or NULL) is set, the old one is not running and will not.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

struct ToC;

static LOGGER: ToC = ToC;

/// The result of installing the logger, once per process.
static INSTALLED: OnceLock<bool> = OnceLock::new();

fn own(target: &str) -> bool {
    target == "apiretry" || target.starts_with("apiretry::")
}

impl log::Log for ToC {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        own(meta.target()) || meta.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(PoisonError::into_inner);
        let Some((cb, ud)) = *sink else { return };
        let text = |s: String| CString::new(s.replace('\0', " ")).unwrap_or_default();
        let target = text(record.target().to_owned());
        let message = text(record.args().to_string());
        cb(
            ud.0,
            record.level() as u32,
            target.as_ptr(),
            message.as_ptr(),
        );
    }

    fn flush(&self) {}
}

/// Sends the library's log records up to `max_level` (an
/// `APIRETRY_LOG_LEVEL_*`) to `callback`; NULL or `APIRETRY_LOG_LEVEL_OFF`
/// stops them, and once this returns the previous callback is not running.
/// Records of the HTTP and TLS crates below pass only as warnings and
/// errors, so tokens never reach the callback. Process-wide. The callback
/// must not call this function. `APIRETRY_RESULT_INVALID_ARGUMENT` for an
/// unknown level, or when the process already has another Rust logger.
#[no_mangle]
pub extern "C" fn apiretry_set_log_callback(
    callback: apiretry_log_callback,
    max_level: u32,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let filter = match max_level {
            0 => log::LevelFilter::Off,
            1 => log::LevelFilter::Error,
            2 => log::LevelFilter::Warn,
            3 => log::LevelFilter::Info,
            4 => log::LevelFilter::Debug,
            5 => log::LevelFilter::Trace,
            _ => return Err(apiretry_result::InvalidArgument),
        };
        let ours = *INSTALLED.get_or_init(|| log::set_logger(&LOGGER).is_ok());
        if !ours {
            return Err(apiretry_result::InvalidArgument);
        }
        let sink = callback.map(|cb| (cb, UserData(user_data)));
        *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
        log::set_max_level(if sink.is_some() {
            filter
        } else {
            log::LevelFilter::Off
        });
        Ok(())
    })
}
