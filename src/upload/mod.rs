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

mod destination;
mod growth;
mod journal;
mod layout;
mod part;
mod parts;
mod rules;
mod run;
mod source;
mod tally;

pub use destination::SIGNED_HEADER_MISSING;
pub use growth::Growth;
pub use journal::{
    DonePart, Expect, Journal, JOURNAL_BUSY, JOURNAL_REFUSED, JOURNAL_UNWRITABLE, JOURNAL_VERSION,
};
pub use layout::{Layout, MAX_PARTS};
pub use parts::PartsFile;
pub use rules::{DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE, PART_RULES};
pub use source::{Identity, FILE_CHANGED};

/// Asked for a part's URL (see [`PartRequest`]). An error stops the upload.
pub type UrlSource = dyn Fn(&PartRequest) -> Result<String, ApiError> + Send + Sync;

/// The part whose URL is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartRequest {
    /// Its number, from 1.
    pub number: u32,
    /// Its first byte's offset in the file.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Whether it is the file's last part.
    pub is_final: bool,
    /// The file's size, once final (a growing file's is known only with
    /// its final part; Frame.io's real-time parts request wants it then).
    pub file_size: Option<u64>,
    /// Whether the URL given before for this part was refused as expired
    /// (asked once per part).
    pub expired: bool,
}

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
    /// Bytes this run wrote to the journal (its records and compaction).
    pub journal_bytes: u64,
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
    /// `None`: chosen by the engine (`flows`).
    parallel: Option<usize>,
    method: String,
    profile: Arc<Profile>,
    progress: Option<Arc<UploadProgressFn>>,
    headers: Vec<(String, String)>,
    destination: Option<String>,
    content_md5: bool,
    part_rules: Option<bool>,
    pub(crate) growth: Option<Growth>,
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

/// Parts in flight at the start when the engine chooses how many.
pub const DEFAULT_PARALLEL: usize = crate::flows::START;
/// The most parts in flight the engine chooses.
pub const MAX_PARALLEL: usize = crate::flows::CAP;

impl Upload {
    /// The upload of the file at `path` in parts of `part_size` bytes,
    /// sent by `client`: as many in flight as the link pays for (see
    /// [`parallel`](Self::parallel)), PUT, the `s3` profile, no journal,
    /// no URLs yet.
    pub fn new(client: &Client, path: impl Into<PathBuf>, part_size: u64) -> Upload {
        Upload {
            client: client.clone(),
            path: path.into(),
            part_size,
            urls: Urls::Given(Arc::from([])),
            journal: None,
            parallel: None,
            method: "PUT".into(),
            profile: Arc::new(Profile::builtin("s3").expect("built in").clone()),
            progress: None,
            headers: Vec::new(),
            destination: None,
            content_md5: false,
            part_rules: None,
            growth: None,
        }
    }

    /// The part size for a file of `size` bytes when the caller chooses
    /// it: 8 MiB, doubled until the file fits in S3's 10,000 parts (as
    /// s3transfer), at most 5 GiB; a file under 128 MiB is cut into up to
    /// 16 parts of at least 5 MiB, so that several are in flight on a
    /// lossy link (see [`parallel`](Self::parallel)).
    ///
    /// ```
    /// use apiretry::upload::Upload;
    /// assert_eq!(Upload::part_size_for(64 << 20), 5 << 20); // 13 parts
    /// assert_eq!(Upload::part_size_for(1 << 30), 8 << 20);
    /// assert_eq!(Upload::part_size_for(100 << 30), 16 << 20); // 12,800 parts of 8 MiB
    /// ```
    pub fn part_size_for(size: u64) -> u64 {
        rules::part_size_for(size)
    }

    /// The part size when the API hands out `urls` URLs for a file of
    /// `size` bytes, one per part, as Frame.io C2C does: `ceil(size /
    /// urls)`, the last part the rest.
    ///
    /// ```
    /// use apiretry::upload::Upload;
    /// assert_eq!(Upload::part_size_for_urls(64 << 20, 3), 22_369_622);
    /// ```
    pub fn part_size_for_urls(size: u64, urls: u32) -> u64 {
        rules::part_size_for_urls(size, urls)
    }

    /// One URL per part, in order.
    pub fn urls(mut self, urls: Vec<String>) -> Self {
        self.urls = Urls::Given(urls.into());
        self
    }

    /// Asks `source` for each part's URL, and again (once per part) for a
    /// part whose URL was refused as expired.
    pub fn url_source(
        self,
        source: impl Fn(u32, bool) -> Result<String, ApiError> + Send + Sync + 'static,
    ) -> Self {
        self.part_source(move |p| source(p.number, p.expired))
    }

    /// Asks `source` for each part's URL, told the part's number, range,
    /// whether it is the final one and then the file's size (as a growing
    /// file's real-time parts request needs), and again (once per part)
    /// for a part whose URL was refused as expired. Called from the
    /// threads sending parts, for several parts at once.
    pub fn part_source(
        mut self,
        source: impl Fn(&PartRequest) -> Result<String, ApiError> + Send + Sync + 'static,
    ) -> Self {
        self.urls = Urls::Asked(Arc::new(source));
        self
    }

    /// Uploads the file while it is still written: parts are cut at the
    /// part size as it grows, each sent once the file holds it and a byte
    /// more, until `growth` is [finished](Growth::finish) with the final
    /// size; the rest is then the final part. Needs a
    /// [`part_source`](Self::part_source) (how many parts there will be is
    /// not known). The journal takes the file grown since; a run resumed
    /// without `growing` takes the file's size as final.
    pub fn growing(mut self, growth: &Growth) -> Self {
        self.growth = Some(growth.clone());
        self
    }

    /// Keeps the done parts in the journal at `path` (see [`Journal`]), and
    /// resumes from it.
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// A header sent with every part. Presigned URLs may sign headers,
    /// which must then come with each PUT: Frame.io's sign `content-type`
    /// and `x-amz-acl`, so its parts need `Content-Type: <the asset's
    /// filetype>` and `x-amz-acl: private` (else S3 answers 403
    /// `SignatureDoesNotMatch`). A name or value that is not a header's is
    /// refused by `run`, before anything is sent.
    ///
    /// ```no_run
    /// # let client = apiretry::Client::builder("https://api.frame.io").build();
    /// let upload = apiretry::upload::Upload::new(&client, "/media/A001.mov", 8 << 20)
    ///     .header("Content-Type", "video/quicktime")
    ///     .header("x-amz-acl", "private");
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The multipart upload the parts go to, as the application names it
    /// (an asset's id, an S3 `uploadId`): the journal is bound to it, and a
    /// journal of another destination is refused (`journal_refused`), its
    /// ETags never used. Needed with a [`url_source`](Self::url_source);
    /// given URLs identify their upload themselves (without their
    /// signatures, so renewed URLs of the same upload resume).
    pub fn destination(mut self, id: &str) -> Self {
        self.destination = Some(id.to_owned());
        self
    }

    /// Sends each part's MD5 as `Content-MD5` (S3 then refuses bytes that
    /// changed on the way, `BadDigest`, and the part is sent again). Off by
    /// default: it reads each part twice. Whether on or not, an ETag that
    /// is a plain MD5 is checked against the bytes sent.
    pub fn content_md5(mut self, on: bool) -> Self {
        self.content_md5 = on;
        self
    }

    /// Whether S3's part rules are checked before anything is sent:
    /// parts but the last of 5 MiB to 5 GiB (S3 takes parts under 5 MiB,
    /// then refuses the completion: `EntityTooSmall`). On by default with
    /// the `s3` profile, off with any other; off for a store whose rules
    /// differ, or a test's small parts.
    pub fn part_rules(mut self, on: bool) -> Self {
        self.part_rules = Some(on);
        self
    }

    /// How many parts are in flight at once (at least 1), fixed.
    ///
    /// Unless told, the engine chooses: it starts with [`DEFAULT_PARALLEL`]
    /// and adds parts in flight while the upload's rate grows by 10% with
    /// each step, up to [`MAX_PARALLEL`]. On a lossy link each TCP flow
    /// under a loss-based congestion control is held to a few Mbit/s, so
    /// the rate is the flows' number times that; on a clean link a few
    /// already fill it, and the count stays.
    pub fn parallel(mut self, parts: usize) -> Self {
        self.parallel = Some(parts.max(1));
        self
    }

    /// The engine chooses how many parts are in flight (the default; see
    /// [`parallel`](Self::parallel)).
    pub fn auto_parallel(mut self) -> Self {
        self.parallel = None;
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
    /// per part in flight and at each part's end, from the threads sending
    /// parts, one report at a time. `bytes_done` never goes back: a part
    /// sent again counts its bytes once, and adds only past where its last
    /// attempt got.
    pub fn progress(mut self, report: impl Fn(&UploadProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(report));
        self
    }

    /// Runs the upload to its end on this thread and one more per part in
    /// flight past the first:
    /// every part's ETag, or the first failure that stopped it. A part
    /// failing for good, or a cancellation (`cancel`, from any thread: then
    /// `cancelled`), ends the parts in flight within one read of their
    /// bodies; what finished stays in the journal.
    ///
    /// Checked before anything is sent: the file, S3's part rules (with
    /// the `s3` profile: `part_rules`), the URLs, the headers, and the
    /// journal (another upload's: `journal_refused`; not writable:
    /// `journal_unwritable`; held by another run: `journal_busy`). While it
    /// runs, the file is held open and watched: written to, cut or replaced,
    /// it ends the run (`file_changed`), and no part sent after is done.
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
