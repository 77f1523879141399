//! The uploader: the queue's items taken in turn by worker threads (one
//! file at a time unless told, the parts in flight as the engine chooses), `first` items
//! ahead; each item's state kept in the state directory at each change, so
//! that a new uploader on the same directory resumes every item not over.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{C2cEvent, C2cEventFn, ADD_FIRST, ADD_RECORDING};
use crate::cancel::CancelToken;
use crate::client::Client;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::queue::{Item, ItemState, Store};
use crate::upload::Growth;

/// An item being uploaded: what stops it, and its growing file's end.
pub(super) struct Running {
    pub cancel: CancelToken,
    /// Set when the application cancelled it (not the uploader stopping).
    pub by_user: AtomicBool,
    pub growth: Growth,
}

pub(super) struct Queue {
    pub items: BTreeMap<u64, Item>,
    pub running: HashMap<u64, Arc<Running>>,
    /// Items put back after a failure the service may get over: not before.
    /// and the pause that set it (doubled at the next failure).
    pub not_before: HashMap<u64, (Instant, Duration)>,
    pub started: bool,
    /// State changes made but not yet told (`wait_idle` waits for them).
    pub telling: usize,
    pub files: usize,
    /// Parts in flight per file; `None`: the engine chooses.
    pub parts: Option<usize>,
}

pub(super) struct Shared {
    pub client: Client,
    pub store: Store,
    pub queue: Mutex<Queue>,
    /// Work to do, or the uploader stopping.
    pub wake: Condvar,
    pub events: Mutex<Option<Arc<C2cEventFn>>>,
    pub stop: CancelToken,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Tells the application of `item`'s state (and progress).
    pub fn emit(&self, item: &Item, bytes_done: u64, bytes_total: u64) {
        let cb = lock(&self.events).clone();
        if let Some(cb) = cb {
            let kind = item.kind.as_deref().and_then(|k| k.parse::<Kind>().ok());
            cb(&C2cEvent {
                id: item.id,
                state: item.state,
                kind,
                bytes_done,
                bytes_total,
            });
        }
    }

    /// Changes item `id` with `f`, saves it, tells the application; the
    /// item as it now is.
    pub fn update(&self, id: u64, f: impl FnOnce(&mut Item)) -> Option<Item> {
        let mut q = lock(&self.queue);
        let item = q.items.get_mut(&id)?;
        let before = item.state;
        f(item);
        let item = item.clone();
        if let Err(e) = self.store.save(&item) {
            log::warn!("c2c: item {id}: {e}");
        }
        let changed = item.state != before;
        q.telling += usize::from(changed);
        self.wake.notify_all();
        drop(q);
        if changed {
            let total = item.final_size.unwrap_or(0);
            let done = if item.state == ItemState::Done {
                total
            } else {
                0
            };
            self.emit(&item, done, total);
            lock(&self.queue).telling -= 1;
            self.wake.notify_all();
        }
        Some(item)
    }
}

/// Every clip a camera records, uploaded to Frame.io: see the
/// [module](super).
pub struct Uploader {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader").finish_non_exhaustive()
    }
}

/// The wall clock in Unix ms (the offsets Frame.io takes are wall time).
pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Uploader {
    /// An uploader sending with `client` (the application's: base URL,
    /// token or OAuth, `c2c` profile, `x-client-version`) and keeping its
    /// queue in `state_dir` (made if missing; an error if it cannot be).
    /// Nothing is sent before [`start`](Self::start).
    pub fn new(client: &Client, state_dir: impl AsRef<Path>) -> Result<Uploader, ApiError> {
        let store = Store::open(state_dir.as_ref())?;
        let items = store.load().into_iter().map(|i| (i.id, i)).collect();
        Ok(Uploader {
            shared: Arc::new(Shared {
                client: client.clone(),
                store,
                queue: Mutex::new(Queue {
                    items,
                    running: HashMap::new(),
                    not_before: HashMap::new(),
                    started: false,
                    telling: 0,
                    files: 1,
                    parts: None,
                }),
                wake: Condvar::new(),
                events: Mutex::new(None),
                stop: CancelToken::new(),
            }),
            threads: Mutex::new(Vec::new()),
        })
    }

    /// Tells `f` of each item's state changes, and of its progress at most
    /// every 250 ms, from the uploader's threads.
    pub fn on_event(&self, f: impl Fn(&C2cEvent) + Send + Sync + 'static) {
        *lock(&self.shared.events) = Some(Arc::new(f));
    }

    /// How many files are uploaded at once (1 unless told), and how many
    /// parts of each are in flight (0: the engine chooses, as unless told;
    /// see [`Upload::parallel`](crate::upload::Upload::parallel)). Before
    /// `start`.
    pub fn set_parallel(&self, files: usize, parts_per_file: usize) {
        let mut q = lock(&self.shared.queue);
        q.files = files.max(1);
        q.parts = (parts_per_file > 0).then_some(parts_per_file);
    }

    /// Starts the threads: the items not over resume, and the heartbeat
    /// begins. A second call does nothing.
    pub fn start(&self) {
        let files = {
            let mut q = lock(&self.shared.queue);
            if q.started {
                return;
            }
            q.started = true;
            q.files
        };
        let mut threads = lock(&self.threads);
        for _ in 0..files {
            let shared = self.shared.clone();
            threads.push(std::thread::spawn(move || super::worker::work(&shared)));
        }
        let shared = self.shared.clone();
        threads.push(std::thread::spawn(move || {
            super::worker::heartbeats(&shared)
        }));
    }

    /// Queues the file at `path` (`ADD_RECORDING`: still being written;
    /// `ADD_FIRST`: ahead of the others); its id. A path already queued
    /// (not over) gives that item's id, and without `ADD_RECORDING` ends
    /// its recording at the file's size. A missing or unreadable file is
    /// refused.
    pub fn add(
        &self,
        path: impl AsRef<Path>,
        filetype: &str,
        created_unix_ms: i64,
        flags: u32,
    ) -> Result<u64, ApiError> {
        let path: PathBuf = path.as_ref().to_owned();
        let meta = std::fs::File::open(&path)
            .and_then(|f| f.metadata())
            .map_err(|e| {
                ApiError::new(Kind::Io).with_message(format!("{}: {e}", path.display()))
            })?;
        if !meta.is_file() || filetype.is_empty() {
            return Err(ApiError::invalid_input(format!(
                "{} is not a file, or no filetype was given",
                path.display()
            )));
        }
        let recording = flags & ADD_RECORDING != 0;
        let mut q = lock(&self.shared.queue);
        let queued = q
            .items
            .values()
            .find(|i| i.path == path && !i.state.is_over())
            .map(|i| i.id);
        if let Some(id) = queued {
            drop(q);
            if !recording {
                self.finish(id, meta.len())?;
            }
            return Ok(id);
        }
        let id = q.items.keys().next_back().map_or(1, |last| last + 1);
        let item = Item {
            id,
            path,
            filetype: filetype.to_owned(),
            created_unix_ms: if created_unix_ms > 0 {
                created_unix_ms
            } else {
                now_ms()
            },
            first: flags & ADD_FIRST != 0,
            recording,
            final_size: (!recording).then_some(meta.len()),
            state: if recording {
                ItemState::Recording
            } else {
                ItemState::Queued
            },
            kind: None,
            destination: None,
        };
        self.shared.store.save(&item)?;
        q.items.insert(id, item.clone());
        self.shared.wake.notify_all();
        drop(q);
        self.shared.emit(&item, 0, item.final_size.unwrap_or(0));
        Ok(id)
    }

    /// Item `id`'s recording is over at `final_size` bytes: the rest of it
    /// is uploaded as its final part.
    pub fn finish(&self, id: u64, final_size: u64) -> Result<(), ApiError> {
        let running = lock(&self.shared.queue).running.get(&id).cloned();
        let found = self.shared.update(id, |i| {
            if i.final_size.is_none() {
                i.final_size = Some(final_size);
            }
            if i.state == ItemState::Recording {
                i.state = ItemState::Queued;
            }
        });
        if let Some(r) = running {
            r.growth.finish(final_size);
        }
        found.map(drop).ok_or_else(|| no_item(id))
    }

    /// Cancels item `id` (0: every item not over): its upload stops, and it
    /// is not taken up again.
    pub fn cancel(&self, id: u64) -> Result<(), ApiError> {
        let ids: Vec<u64> = {
            let q = lock(&self.shared.queue);
            match id {
                0 => q
                    .items
                    .values()
                    .filter(|i| !i.state.is_over())
                    .map(|i| i.id)
                    .collect(),
                _ if q.items.contains_key(&id) => vec![id],
                _ => return Err(no_item(id)),
            }
        };
        for id in ids {
            let running = lock(&self.shared.queue).running.get(&id).cloned();
            if let Some(r) = running {
                r.by_user.store(true, Ordering::SeqCst);
                r.cancel.cancel();
            }
            self.shared.update(id, |i| {
                if !i.state.is_over() {
                    i.state = ItemState::Cancelled;
                }
            });
        }
        Ok(())
    }

    /// Waits until every item is over, `timeout` at most: whether it is.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        let mut q = lock(&self.shared.queue);
        loop {
            if q.telling == 0 && q.items.values().all(|i| i.state.is_over()) {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            q = self
                .shared
                .wake
                .wait_timeout(q, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Every item, by id.
    pub fn items(&self) -> Vec<Item> {
        lock(&self.shared.queue).items.values().cloned().collect()
    }
}

fn no_item(id: u64) -> ApiError {
    ApiError::invalid_input(format!("no item {id} in the queue"))
}

impl Drop for Uploader {
    /// Stops: uploads in flight end (their journals kept), and what is not
    /// over stays queued for the next uploader on the same directory.
    fn drop(&mut self) {
        self.shared.stop.cancel();
        {
            let _q = lock(&self.shared.queue);
            self.shared.wake.notify_all();
        }
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
    }
}
