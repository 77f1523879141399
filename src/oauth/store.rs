//! Where tokens live across reboots: a hook called whenever they change,
//! and a file store that a crash or power loss cannot tear.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Tokens;
use crate::error::ApiError;
use crate::kind::Kind;

/// Keeps tokens for the next start. `save` is called whenever they change
/// (pairing, each refresh), before a rotated refresh token is used again.
pub trait TokenStore: Send + Sync {
    /// The stored tokens; `None` when nothing was stored yet.
    fn load(&self) -> Result<Option<Tokens>, ApiError>;
    /// Replaces the stored tokens.
    fn save(&self, tokens: &Tokens) -> Result<(), ApiError>;
}

/// Tokens in a JSON file (`access_token`, `refresh_token`, `token_type`,
/// `expires_at` in Unix seconds, ...), mode 0600, replaced atomically: the
/// new set goes to a temporary file in the same folder, is synced, renamed
/// over the old one, and the folder is synced. A crash at any point leaves
/// the old set or the new one, whole.
///
/// ```
/// use apiretry::{FileStore, Secret, TokenStore, Tokens};
///
/// let dir = std::env::temp_dir().join(format!("apiretry-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = FileStore::new(dir.join("tokens.json"));
/// assert_eq!(store.load()?, None);
/// store.save(&Tokens::new(Secret::new("at")).with_refresh_token(Secret::new("rt")))?;
/// assert_eq!(store.load()?.unwrap().refresh_token, Some(Secret::new("rt")));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), apiretry::ApiError>(())
/// ```
#[derive(Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Tells temporary files of concurrent saves in one process apart.
static SAVES: AtomicUsize = AtomicUsize::new(0);

impl FileStore {
    /// A store at `path` (its folder must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&self, doing: &str, e: impl fmt::Display) -> ApiError {
        ApiError::new(Kind::Io).with_message(format!(
            "token store {}: cannot {doing}: {e}",
            self.path.display()
        ))
    }

    fn write_new(&self, tmp: &Path, json: &[u8]) -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(tmp)?;
        file.write_all(json)?;
        file.sync_all()
    }
}

impl TokenStore for FileStore {
    fn load(&self) -> Result<Option<Tokens>, ApiError> {
        match fs::read(&self.path) {
            Ok(bytes) => Tokens::from_json(&bytes)
                .map(Some)
                .map_err(|e| self.failed("read a token set", e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.failed("read", e)),
        }
    }

    fn save(&self, tokens: &Tokens) -> Result<(), ApiError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let n = SAVES.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        if let Err(e) = self.write_new(&tmp, &tokens.to_json()) {
            let _ = fs::remove_file(&tmp);
            return Err(self.failed("write", e));
        }
        if let Err(e) = fs::rename(&tmp, &self.path) {
            let _ = fs::remove_file(&tmp);
            return Err(self.failed("replace", e));
        }
        // The rename itself is durable only once the folder is.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.failed("sync its folder", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::Secret;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("apiretry-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn saves_replace_whole_with_mode_0600_and_leave_no_temporary() {
        let dir = scratch("replace");
        let store = FileStore::new(dir.join("t.json"));
        for n in 0..3 {
            let t = Tokens::new(Secret::new(format!("a{n}")))
                .with_refresh_token(Secret::new(format!("r{n}")));
            store.save(&t).unwrap();
            assert_eq!(store.load().unwrap(), Some(t));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("t.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failures_are_io_errors_that_name_the_store() {
        let dir = scratch("fail");
        let torn = dir.join("torn.json");
        fs::write(&torn, b"{\"access_token\": \"secret-x\", ").unwrap();
        let rows = [
            (
                FileStore::new(&torn).load().map(|_| ()),
                "cannot read a token set",
            ),
            (
                FileStore::new(dir.join("no/such/dir/t.json")).save(&Tokens::new(Secret::new("a"))),
                "cannot write",
            ),
            (FileStore::new(&dir).load().map(|_| ()), "cannot read"),
        ];
        for (result, says) in rows {
            let e = result.unwrap_err();
            assert_eq!(e.kind, Kind::Io);
            assert!(
                e.message.contains(says) && e.message.contains("token store"),
                "{}",
                e.message
            );
            assert!(!e.message.contains("secret-x"), "{}", e.message);
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
