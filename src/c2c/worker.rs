//! One worker's loop: the next item (the `first` ones ahead, then by id),
//! its asset made once (the offset from the file's creation; a paused
//! channel drops it), its file sent by the upload engine with Frame.io's
//! signed headers and a journal of its own; and the heartbeat's loop.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::api;
use super::uploader::{lock, now_ms, Running, Shared};
use crate::error::ApiError;
use crate::kind::{Kind, Retry};
use crate::queue::{Destination, Item, ItemState};
use crate::upload::{Growth, Upload, FILE_CHANGED, MIN_PART_SIZE};

/// A real-time upload's parts: S3's smallest, so that at most about one
/// part is left to send when the recording ends.
const REALTIME_PART: u64 = MIN_PART_SIZE;
/// Progress events at most this often per item.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// An item whose upload failed in a way the service may get over (an
/// outage past the policy's attempts) is taken up again after this, then
/// twice as long each time, at most `RETRY_MOST`.
const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MOST: Duration = Duration::from_secs(300);

/// How an item's turn ended.
enum Outcome {
    Done,
    Over(ItemState, Kind),
    /// Again later (the service may get over it).
    Later,
    /// The uploader stopped: left as it is, for the next one.
    Stopped,
}

/// The next item to take, marked running; `None` once stopping.
fn take(shared: &Shared) -> Option<(Item, Arc<Running>)> {
    let mut q = lock(&shared.queue);
    loop {
        if shared.stop.is_cancelled() {
            return None;
        }
        let now = Instant::now();
        let next = q
            .items
            .values()
            .filter(|i| !i.state.is_over() && !q.running.contains_key(&i.id))
            .filter(|i| q.not_before.get(&i.id).is_none_or(|t| t.0 <= now))
            .min_by_key(|i| (!i.first, i.id))
            .cloned();
        if let Some(item) = next {
            let running = Arc::new(Running {
                cancel: shared.stop.child(),
                by_user: Default::default(),
                growth: Growth::new(),
            });
            if let Some(size) = item.final_size {
                running.growth.finish(size);
            }
            q.running.insert(item.id, running.clone());
            return Some((item, running));
        }
        // Until the next item put back is due (one running is not waited for).
        let wait = q
            .not_before
            .iter()
            .filter(|(id, _)| !q.running.contains_key(id))
            .map(|(_, t)| t.0.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::from_secs(3600));
        q = shared
            .wake
            .wait_timeout(q, wait.max(Duration::from_millis(10)))
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
}

pub(super) fn work(shared: &Shared) {
    while let Some((item, running)) = take(shared) {
        let id = item.id;
        let outcome = upload(shared, item, &running);
        let mut q = lock(&shared.queue);
        q.running.remove(&id);
        match outcome {
            Outcome::Later => {
                let pause = q
                    .not_before
                    .get(&id)
                    .map_or(RETRY_FIRST, |t| (t.1 * 2).min(RETRY_MOST));
                q.not_before.insert(id, (Instant::now() + pause, pause));
            }
            _ => {
                q.not_before.remove(&id);
            }
        }
        drop(q);
        match outcome {
            Outcome::Done => shared.update(id, |i| {
                i.state = ItemState::Done;
                i.kind = None;
            }),
            Outcome::Over(state, kind) => shared.update(id, |i| {
                if !i.state.is_over() {
                    i.state = state;
                    i.kind = Some(kind.as_str().to_owned());
                }
            }),
            Outcome::Later | Outcome::Stopped => shared.update(id, |_| {}),
        };
    }
}

/// What a failure makes of the item's turn.
fn judged(e: &ApiError, running: &Running, shared: &Shared) -> Outcome {
    if e.kind == Kind::Cancelled || running.cancel.is_cancelled() {
        return match running.by_user.load(Ordering::SeqCst) {
            true => Outcome::Over(ItemState::Cancelled, Kind::Cancelled),
            false if shared.stop.is_cancelled() => Outcome::Stopped,
            false => Outcome::Later,
        };
    }
    match e.kind {
        Kind::ChannelPaused => Outcome::Over(ItemState::Dropped, e.kind),
        _ if e.code.as_deref() == Some(FILE_CHANGED) => Outcome::Over(ItemState::Failed, e.kind),
        Kind::Io | Kind::Application => Outcome::Over(ItemState::Failed, e.kind),
        _ if e.retry != Retry::No => Outcome::Later,
        _ => Outcome::Over(ItemState::Failed, e.kind),
    }
}

fn upload(shared: &Shared, mut item: Item, running: &Arc<Running>) -> Outcome {
    let id = item.id;
    let size_now = match std::fs::File::open(&item.path).and_then(|f| f.metadata()) {
        Ok(m) => m.len(),
        Err(e) => {
            log::warn!("c2c: item {id}: {}: {e}", item.path.display());
            return Outcome::Over(ItemState::Failed, Kind::Io);
        }
    };
    if item.state == ItemState::Queued {
        if let Some(i) = shared.update(id, |i| i.state = ItemState::Uploading) {
            item = i;
        }
    }
    let growing = item.final_size.is_none();
    let dest = match item.destination.clone() {
        Some(d) => d,
        None => {
            let name = item
                .path
                .file_name()
                .map_or("clip".into(), |n| n.to_string_lossy().into_owned());
            let offset = (now_ms() - item.created_unix_ms).max(0) as f64 / 1000.0;
            let size = (!growing).then_some(item.final_size.unwrap_or(size_now));
            match api::create_asset(&shared.client, &name, &item.filetype, size, offset) {
                Ok(c) => {
                    let d = Destination {
                        id: c.id,
                        urls: c.upload_urls,
                    };
                    // Kept before any part goes: a restart never makes it again.
                    shared.update(id, |i| i.destination = Some(d.clone()));
                    d
                }
                Err(e) => return judged(&e, running, shared),
            }
        }
    };
    let client = shared.client.clone();
    let parts = lock(&shared.queue).parts;
    let mut up = match dest.urls.is_empty() {
        true => {
            let asset = dest.id.clone();
            Upload::new(&client, &item.path, REALTIME_PART)
                .part_source(move |p| api::realtime_part_url(&client, &asset, p))
        }
        false => {
            let size = item.final_size.unwrap_or(size_now);
            let part = Upload::part_size_for_urls(size, dest.urls.len() as u32);
            // The layout is the service's: S3's rules are its business.
            Upload::new(&shared.client, &item.path, part)
                .urls(dest.urls.clone())
                .part_rules(false)
        }
    };
    if growing {
        up = up.growing(&running.growth);
    }
    if let Some(n) = parts {
        up = up.parallel(n);
    }
    let last = Mutex::new(None::<Instant>);
    let progress_item = item.clone();
    let shared_events = lock(&shared.events).clone();
    up = up
        .header("Content-Type", &item.filetype)
        .header("x-amz-acl", "private")
        .destination(&dest.id)
        .journal(shared.store.journal(id))
        .progress(move |p| {
            let mut at = lock(&last);
            let due = at.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY)
                || p.parts_done == p.parts_total && p.parts_total > 0;
            if !due {
                return;
            }
            *at = Some(Instant::now());
            drop(at);
            if let Some(cb) = &shared_events {
                let state = match progress_item.recording && p.bytes_total == 0 {
                    true => ItemState::Recording,
                    false => ItemState::Uploading,
                };
                cb(&super::C2cEvent {
                    id: progress_item.id,
                    state,
                    kind: None,
                    bytes_done: p.bytes_done,
                    bytes_total: p.bytes_total,
                });
            }
        });
    match up.run(Some(&running.cancel)) {
        Ok(_) => Outcome::Done,
        Err(e) => {
            log::warn!("c2c: item {id}: {e}");
            judged(&e, running, shared)
        }
    }
}

/// The heartbeat: at start, then every 1 to 3 minutes (jittered; Frame.io
/// asks for 1 to 5), until the uploader stops. A failed one is not retried: the
/// next comes in time.
pub(super) fn heartbeats(shared: &Shared) {
    loop {
        if let Err(e) = api::heartbeat(&shared.client) {
            log::info!("c2c: heartbeat: {e}");
        }
        if !shared.stop.sleep(heartbeat_wait(fastrand::f64())) {
            return;
        }
    }
}

/// The wait before the next heartbeat for a draw `r` in [0, 1): 60 to 180 s.
fn heartbeat_wait(r: f64) -> Duration {
    Duration::from_secs_f64(60.0 + 120.0 * r.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    /// Rows: the draw -> the wait; every wait within Frame.io's 1 to 5 minutes.
    #[test]
    fn heartbeats_are_1_to_3_minutes_apart() {
        for (r, secs) in [
            (0.0, 60.0),
            (0.5, 120.0),
            (0.999_999, 179.99988),
            (7.0, 180.0),
        ] {
            let w = super::heartbeat_wait(r).as_secs_f64();
            assert!((w - secs).abs() < 1e-3, "{r}: {w}");
            assert!((60.0..=300.0).contains(&w));
        }
    }
}
