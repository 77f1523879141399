//! A persistent queue of files to upload, in a state directory: one small
//! JSON file per item (`items/<id>.json`), written atomically (a temporary
//! file, flushed, renamed over it, the directory flushed) at each change,
//! so that a kill or a power loss at any instant leaves every item as it
//! was before the change or after it; and beside each, the upload engine's
//! journal (`journals/<id>.journal`). What an item uploads to is the
//! destination's business (`c2c`): the queue keeps its id and URLs.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ItemState {
    /// Waiting its turn.
    Queued,
    /// Its file is still being written (uploaded as it grows).
    Recording,
    /// Being uploaded.
    Uploading,
    /// Uploaded whole.
    Done,
    /// Refused for good by the service, nothing sent (a paused channel).
    Dropped,
    /// Failed for good (the file vanished, cannot be read, changed).
    Failed,
    /// Cancelled by the application.
    Cancelled,
}

impl ItemState {
    /// Whether the item is over (done, dropped, failed or cancelled).
    pub fn is_over(self) -> bool {
        matches!(
            self,
            ItemState::Done | ItemState::Dropped | ItemState::Failed | ItemState::Cancelled
        )
    }
}

/// Where an item's parts go, once the service made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// The service's id for it (an asset's).
    pub id: String,
    /// Its parts' URLs when handed out up front; empty when asked per part.
    #[serde(default)]
    pub urls: Vec<String>,
}

/// One file in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Item {
    /// Its id, from 1, never reused in a state directory.
    pub id: u64,
    /// The file.
    pub path: PathBuf,
    /// Its MIME type.
    pub filetype: String,
    /// When the file was made (Unix ms).
    pub created_unix_ms: i64,
    /// Ahead of the items not marked so.
    pub first: bool,
    /// Added while its file was still being written.
    pub recording: bool,
    /// The file's final size, once known (a recording's, when finished).
    pub final_size: Option<u64>,
    /// Where it stands.
    pub state: ItemState,
    /// Why it was dropped or failed (a kind's code), else none.
    pub kind: Option<String>,
    /// Its destination, once made.
    pub destination: Option<Destination>,
}

/// A queue's state directory.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> ApiError {
    ApiError::new(Kind::Io)
        .with_retry(Retry::No)
        .with_message(format!("{what} {}: {e}", path.display()))
}

/// The most item files read (a queue of a camera's clips is far shorter).
const MAX_ITEM: u64 = 1 << 20;

impl Store {
    /// The store in `dir`, made if missing (an error if it cannot be).
    pub fn open(dir: &Path) -> Result<Store, ApiError> {
        for sub in ["items", "journals"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d)
                .map_err(|e| io_error("cannot make the state directory", &d, &e))?;
        }
        // A directory that cannot be written fails now, not at the first item.
        let probe = durable::beside(&dir.join("items").join("state"), "probe");
        File::create(&probe)
            .and_then(|_| fs::remove_file(&probe))
            .map_err(|e| io_error("cannot write the state directory", dir, &e))?;
        Ok(Store {
            dir: dir.to_owned(),
        })
    }

    /// Every item on disk, by id; an item file that is not one is skipped
    /// (with a warning) rather than blocking the others.
    pub fn load(&self) -> Vec<Item> {
        let items = self.dir.join("items");
        let mut out: Vec<Item> = fs::read_dir(&items)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| {
                let path = e.path();
                let small = e.metadata().is_ok_and(|m| m.len() <= MAX_ITEM);
                let item = small
                    .then(|| fs::read(&path).ok())
                    .flatten()
                    .and_then(|t| serde_json::from_slice::<Item>(&t).ok());
                if item.is_none() {
                    log::warn!("queue: {} is not an item; skipped", path.display());
                }
                item
            })
            .collect();
        out.sort_by_key(|i| i.id);
        out
    }

    /// Writes `item` atomically.
    pub fn save(&self, item: &Item) -> Result<(), ApiError> {
        let path = self.dir.join("items").join(format!("{}.json", item.id));
        let text = serde_json::to_vec(item).expect("an item always serializes");
        durable::replace(&path, &text)
            .map_err(|e| io_error("cannot save the queue item", &path, &e))
    }

    /// Where item `id`'s upload journal is.
    pub fn journal(&self, id: u64) -> PathBuf {
        self.dir.join("journals").join(format!("{id}.journal"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: u64) -> Item {
        Item {
            id,
            path: "/media/A001.mov".into(),
            filetype: "video/quicktime".into(),
            created_unix_ms: 1,
            first: false,
            recording: false,
            final_size: None,
            state: ItemState::Queued,
            kind: None,
            destination: None,
        }
    }

    #[test]
    fn items_saved_load_as_they_were_and_a_bad_one_is_skipped() {
        let dir = std::env::temp_dir().join(format!("apiretry-queue-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        let mut two = item(2);
        two.destination = Some(Destination {
            id: "a".into(),
            urls: vec!["https://x/1".into()],
        });
        two.state = ItemState::Uploading;
        for i in [&item(1), &two, &item(3)] {
            store.save(i).unwrap();
        }
        fs::write(dir.join("items").join("9.json"), "{garbage").unwrap();
        assert_eq!(store.load(), [item(1), two, item(3)]);
        assert!(Store::open(Path::new("/proc/no-such-dir")).is_err());
    }
}
