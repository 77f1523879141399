//! The whole upload of a file: numbered parts, each a request the client
//! sends (by default a PUT to a presigned S3 URL: the `s3` profile, the
//! chunk-upload class, no `Authorization`, the body streamed from the
//! file's range), several in flight, and a journal so that an upload cut
//! by a power loss resumes where it stood.
//!
//! ```no_run
//! use apiretry::upload::Upload;
//! use apiretry::Client;
//!
//! let client = Client::builder("https://api.example.com/v2").build();
//! let urls: Vec<String> = vec![/* one presigned URL per part */];
//! let done = Upload::new(&client, "/media/A001.mov", 25 << 20)
//!     .urls(urls)
//!     .journal("/data/A001.journal")
//!     .run(None)?;
//! println!("ETags for the completion: {:?}", done.etags);
//! # Ok::<(), apiretry::ApiError>(())
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::client::Client;
use crate::error::ApiError;
use crate::kind::{Kind, Retry};
use crate::profile::Profile;

mod journal;
mod layout;
mod parts;
mod run;

pub use journal::{Identity, Journal, JOURNAL_REFUSED};
pub use layout::{Layout, MAX_PARTS};
pub use parts::PartsFile;

/// Asked for part `part`'s URL (from 1); `expired` when the last one given
/// for it was refused as expired. An error stops the upload.
pub type UrlSource = dyn Fn(u32, bool) -> Result<String, ApiError> + Send + Sync;

/// Where the parts' URLs come from.
#[derive(Clone)]
enum Urls {
    Given(Arc<[String]>),
    Asked(Arc<UrlSource>),
}

/// How far an upload has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadProgress {
    /// Body bytes of done parts, and of parts in flight so far.
    pub bytes_done: u64,
    /// The file's size.
    pub bytes_total: u64,
    /// Parts done (the journal's included).
    pub parts_done: u32,
    /// Parts in all.
    pub parts_total: u32,
}

/// Receives [`UploadProgress`] reports, from the threads sending parts.
pub type UploadProgressFn = dyn Fn(&UploadProgress) + Send + Sync;

/// A finished upload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Uploaded {
    /// Every part's ETag, in order, exactly as the server sent it.
    pub etags: Vec<String>,
    /// Body bytes this run sent, retries included.
    pub bytes_sent: u64,
    /// Parts found done in the journal at the start.
    pub resumed: u32,
}

/// The code of the error that stops an upload whose URLs have expired
/// (S3: `ExpiredToken`, or `AccessDenied` "Request has expired") when no
/// URL source can renew them: rerun with fresh URLs and the same journal.
pub const URLS_EXPIRED: &str = "urls_expired";

/// One file's upload. See the [module](self) for an example.
#[derive(Clone)]
pub struct Upload {
    client: Client,
    path: PathBuf,
    part_size: u64,
    urls: Urls,
    journal: Option<PathBuf>,
    parallel: usize,
    method: String,
    profile: Arc<Profile>,
    progress: Option<Arc<UploadProgressFn>>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs carry signatures: not shown.
        f.debug_struct("Upload")
            .field("path", &self.path)
            .field("part_size", &self.part_size)
            .field("journal", &self.journal)
            .field("parallel", &self.parallel)
            .finish_non_exhaustive()
    }
}

/// Parts in flight unless told otherwise.
pub const DEFAULT_PARALLEL: usize = 4;

impl Upload {
    /// The upload of the file at `path` in parts of `part_size` bytes,
    /// sent by `client`: 4 in flight, PUT, the `s3` profile, no journal,
    /// no URLs yet.
    pub fn new(client: &Client, path: impl Into<PathBuf>, part_size: u64) -> Upload {
        Upload {
            client: client.clone(),
            path: path.into(),
            part_size,
            urls: Urls::Given(Arc::from([])),
            journal: None,
            parallel: DEFAULT_PARALLEL,
            method: "PUT".into(),
            profile: Arc::new(Profile::builtin("s3").expect("built in").clone()),
            progress: None,
        }
    }

    /// One URL per part, in order.
    pub fn urls(mut self, urls: Vec<String>) -> Self {
        self.urls = Urls::Given(urls.into());
        self
    }

    /// Asks `source` for each part's URL, and again (once per part) for a
    /// part whose URL was refused as expired.
    pub fn url_source(
        mut self,
        source: impl Fn(u32, bool) -> Result<String, ApiError> + Send + Sync + 'static,
    ) -> Self {
        self.urls = Urls::Asked(Arc::new(source));
        self
    }

    /// Keeps the done parts in the journal at `path` (see [`Journal`]), and
    /// resumes from it.
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// How many parts are in flight at once (at least 1).
    pub fn parallel(mut self, parts: usize) -> Self {
        self.parallel = parts.max(1);
        self
    }

    /// The method each part is sent with (`PUT` unless told).
    pub fn method(mut self, method: &str) -> Self {
        method.clone_into(&mut self.method);
        self
    }

    /// Classifies the parts' failures with `profile` (`s3` unless told).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = Arc::new(profile);
        self
    }

    /// Tells `report` how far the upload has come, at most every 100 ms
    /// per part in flight and at each part's end.
    pub fn progress(mut self, report: impl Fn(&UploadProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(report));
        self
    }

    /// Runs the upload to its end on this thread and `parallel - 1` more:
    /// every part's ETag, or the first failure that stopped it (parts in
    /// flight then finish, and what finished stays in the journal). A
    /// cancellation (`cancel`, from any thread) stops it the same way, as
    /// `cancelled`.
    pub fn run(&self, cancel: Option<&CancelToken>) -> Result<Uploaded, ApiError> {
        run::run(self, cancel.unwrap_or(CancelToken::never()))
    }
}

/// The error for URLs that expired with no source to renew them.
fn urls_expired(part: u32, cause: &ApiError) -> ApiError {
    ApiError::new(Kind::Forbidden)
        .with_retry(Retry::No)
        .with_code(URLS_EXPIRED)
        .with_message(format!(
            "the upload URLs have expired (part {part}: {})",
            cause.message
        ))
        .with_hint("Ask the API for fresh URLs and run again with the same journal.")
}

/// Whether `err` says the presigned URL has expired.
pub fn is_expired_url(err: &ApiError) -> bool {
    err.kind == Kind::Forbidden
        && match err.code.as_deref() {
            Some("ExpiredToken") | Some(URLS_EXPIRED) => true,
            Some("AccessDenied") => err.message.contains("Request has expired"),
            _ => false,
        }
}
