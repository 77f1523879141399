//! Frame.io Camera-to-Cloud: every clip a camera records reaches Frame.io.
//! The [`Uploader`] keeps a queue of files in a state directory that
//! survives kill -9 and power loss; each file's asset is made once (with
//! the offset from its creation time, so that a clip made while the
//! channel was paused is dropped, nothing sent), then its parts go through
//! the upload engine with Frame.io's signed headers and a journal, so that
//! a restart resumes from the last part done. A clip added while it still
//! records is uploaded as it grows (Frame.io's real-time upload) and
//! [`finish`](Uploader::finish)ed when the recording ends. A file that
//! vanished or cannot be read fails alone; an outage waits (the client's
//! policy and gates), it does not fail the queue. A heartbeat goes while
//! the uploader runs.
//!
//! ```no_run
//! use apiretry::c2c::{Uploader, ADD_RECORDING};
//! use apiretry::Client;
//!
//! let client = Client::builder("https://api.frame.io")
//!     .profile(apiretry::Profile::builtin("c2c").unwrap().clone())
//!     .build();
//! let uploader = Uploader::new(&client, "/data/c2c")?;
//! uploader.on_event(|e| eprintln!("clip {}: {:?} {} of {}", e.id, e.state, e.bytes_done, e.bytes_total));
//! uploader.start();
//! let clip = uploader.add("/media/A001.mov", "video/quicktime", 0, ADD_RECORDING)?;
//! // ... the camera records, then closes the file ...
//! uploader.finish(clip, 1_234_567_890)?;
//! uploader.wait_idle(std::time::Duration::from_secs(3600));
//! # Ok::<(), apiretry::ApiError>(())
//! ```

mod api;
mod uploader;
mod worker;

pub use crate::queue::ItemState;
pub use uploader::Uploader;

use crate::kind::Kind;

/// `Uploader::add` flag: the file is still being written.
pub const ADD_RECORDING: u32 = 1;
/// `Uploader::add` flag: ahead of the items not so marked.
pub const ADD_FIRST: u32 = 2;

/// An item's state change or progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct C2cEvent {
    /// The item's id.
    pub id: u64,
    /// Its state.
    pub state: ItemState,
    /// Why it was dropped or failed.
    pub kind: Option<Kind>,
    /// Its bytes uploaded so far.
    pub bytes_done: u64,
    /// Its size; 0 while unknown (a recording).
    pub bytes_total: u64,
}

/// Receives [`C2cEvent`]s, from the uploader's threads.
pub type C2cEventFn = dyn Fn(&C2cEvent) + Send + Sync;
