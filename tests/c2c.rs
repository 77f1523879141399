//! The C2C uploader against the mock's Frame.io device side over TCP:
//! clips queued and uploaded whole, one asset each, with the signed headers
//! (the mock refuses parts without them); a clip made while the channel was
//! paused dropped, nothing sent, and the others not held up; a vanished
//! file failing alone; cancel; `first` items ahead; a recording uploaded
//! while it grows and playable soon after its finish; a restart that
//! resumes without making the asset again or sending done parts again;
//! the heartbeat at start.

#![cfg(feature = "mock")]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apiretry::c2c::{C2cEvent, ItemState, Uploader, ADD_FIRST, ADD_RECORDING};
use apiretry::mock::MockServer;
use apiretry::{Client, Policy, Profile};

const MIB: usize = 1 << 20;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("apiretry-c2c-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn clip(dir: &std::path::Path, name: &str, size: usize) -> PathBuf {
    let path = dir.join(name);
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 253) as u8).collect();
    std::fs::write(&path, data).unwrap();
    path
}

fn md5_hex(path: &std::path::Path) -> String {
    use md5::Digest;
    let data = std::fs::read(path).unwrap();
    md5::Md5::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn client(server: &MockServer) -> Client {
    Client::builder(server.url())
        .profile(Profile::builtin("c2c").unwrap().clone())
        .policy(Policy::default().with_max_attempts(3))
        .build()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The events an uploader gave.
fn recorded(u: &Uploader) -> Arc<Mutex<Vec<C2cEvent>>> {
    let events: Arc<Mutex<Vec<C2cEvent>>> = Arc::default();
    let e = events.clone();
    u.on_event(move |ev| e.lock().unwrap().push(*ev));
    events
}

/// The items done, in the order their events came.
fn done_in_order(events: &Mutex<Vec<C2cEvent>>) -> Vec<u64> {
    let events = events.lock().unwrap();
    let done = events.iter().filter(|e| e.state == ItemState::Done);
    done.map(|e| e.id).collect()
}

/// Rows: clips of several sizes (one part, several) and one made while the
/// channel was paused, one whose file vanished -> each its own end, none
/// holding up the others; each done clip's asset made once, playable, its
/// parts the file.
#[test]
fn clips_upload_a_paused_one_is_dropped_a_vanished_one_fails_alone() {
    let server = MockServer::start().unwrap();
    server.c2c_part_target(8 << 20);
    let paused_at = now_ms() - 3_600_000;
    server.c2c_pause(paused_at as u64 - 1000, paused_at as u64 + 1000);
    let d = dir("basic");
    let u = Uploader::new(&client(&server), d.join("state")).unwrap();
    let events = recorded(&u);
    let small = clip(&d, "A001.mov", 300_000);
    let big = clip(&d, "A002.mov", 20 * MIB + 5);
    let paused = clip(&d, "A003.mov", 1000);
    let gone = clip(&d, "A004.mov", 1000);
    let ids = [
        u.add(&small, "video/quicktime", 0, 0).unwrap(),
        u.add(&paused, "video/quicktime", paused_at, 0).unwrap(),
        u.add(&gone, "video/quicktime", 0, 0).unwrap(),
        u.add(&big, "video/mp4", 0, 0).unwrap(),
    ];
    assert_eq!(
        u.add(&small, "video/quicktime", 0, 0).unwrap(),
        ids[0],
        "queued once"
    );
    assert!(u
        .add(d.join("missing.mov"), "video/quicktime", 0, 0)
        .is_err());
    std::fs::remove_file(&gone).unwrap();
    u.start();
    assert!(u.wait_idle(Duration::from_secs(30)));
    let states: Vec<(ItemState, Option<String>)> =
        u.items().into_iter().map(|i| (i.state, i.kind)).collect();
    assert_eq!(
        states,
        [
            (ItemState::Done, None),
            (ItemState::Dropped, Some("channel_paused".into())),
            (ItemState::Failed, Some("io".into())),
            (ItemState::Done, None),
        ]
    );
    let assets = server.c2c_assets();
    // The paused clip's creation was refused: no asset; the vanished file
    // never asked for one.
    assert_eq!(assets.len(), 2, "{assets:?}");
    for (asset, file) in assets.iter().zip([&small, &big]) {
        assert!(asset.playable(), "{asset:?}");
        let whole: Vec<&String> = asset.parts.values().map(|p| &p.1).collect();
        if asset.parts.len() == 1 {
            assert_eq!(*whole[0], md5_hex(file));
        }
    }
    assert_eq!(assets[1].parts.len(), 2, "20 MiB in Frame.io's 2 URLs");
    assert_eq!(assets[1].filetype, "video/mp4");
    let done = done_in_order(&events);
    assert_eq!(done, [ids[0], ids[3]]);
    assert!(!server.c2c_heartbeats().is_empty(), "a heartbeat at start");
}

/// `first` goes ahead; cancel(one) and cancel(0) end items not sent.
#[test]
fn first_items_go_ahead_and_cancelled_ones_are_not_sent() {
    let server = MockServer::start().unwrap();
    server.c2c();
    let d = dir("order");
    let u = Uploader::new(&client(&server), d.join("state")).unwrap();
    let events = recorded(&u);
    let a = u
        .add(clip(&d, "A.mov", 1000), "video/quicktime", 0, 0)
        .unwrap();
    let b = u
        .add(clip(&d, "B.mov", 1000), "video/quicktime", 0, 0)
        .unwrap();
    let c = u
        .add(clip(&d, "C.mov", 1000), "video/quicktime", 0, ADD_FIRST)
        .unwrap();
    u.cancel(b).unwrap();
    assert!(u.cancel(99).is_err());
    u.start();
    assert!(u.wait_idle(Duration::from_secs(20)));
    let done = done_in_order(&events);
    assert_eq!(done, [c, a]);
    assert_eq!(u.items()[1].state, ItemState::Cancelled);
    assert_eq!(server.c2c_assets().len(), 2);
    let rest = u
        .add(clip(&d, "D.mov", 1000), "video/quicktime", 0, ADD_RECORDING)
        .unwrap();
    u.cancel(0).unwrap();
    assert_eq!(u.items()[rest as usize - 1].state, ItemState::Cancelled);
}

/// A clip recorded at about 10 MiB/s while it is uploaded in 5 MiB parts:
/// the parts go while it grows; after `finish`, the asset is playable
/// within 1 s, its bytes the file's.
#[test]
fn a_recording_uploads_while_it_grows_and_plays_soon_after_finish() {
    let server = MockServer::start().unwrap();
    server.c2c();
    let d = dir("realtime");
    let u = Uploader::new(&client(&server), d.join("state")).unwrap();
    let path = d.join("R001.mov");
    std::fs::write(&path, b"").unwrap();
    u.start();
    let id = u
        .add(&path, "video/quicktime", now_ms(), ADD_RECORDING)
        .unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let data: Vec<u8> = (0..17 * MIB + 99).map(|i| (i * 7 % 251) as u8).collect();
    for piece in data.chunks(MIB) {
        f.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(f);
    let parts_before = server.c2c_assets()[0].parts.len();
    let t = Instant::now();
    u.finish(id, data.len() as u64).unwrap();
    assert!(u.wait_idle(Duration::from_secs(20)));
    let after = t.elapsed();
    eprintln!(
        "real time: {parts_before} parts stored while recording; playable {after:?} after finish"
    );
    assert!(parts_before >= 2, "{parts_before} parts while recording");
    assert!(after < Duration::from_secs(1), "{after:?}");
    let asset = &server.c2c_assets()[0];
    assert!(asset.realtime && asset.playable(), "{asset:?}");
    assert_eq!(asset.parts.len(), 4);
    assert_eq!(asset.filesize, Some(data.len() as u64));
}

/// The uploader stopped (dropped) after the first of 3 parts, a new one on
/// the same state directory: the asset is not made again, the done part not
/// sent again, the clip done.
#[test]
fn a_restart_resumes_without_a_second_asset_or_done_parts_again() {
    let server = MockServer::start().unwrap();
    server.c2c_part_target(5 << 20);
    let d = dir("restart");
    let state = d.join("state");
    let path = clip(&d, "A001.mov", 15 * MIB + 3);
    {
        let u = Uploader::new(&client(&server), &state).unwrap();
        u.set_parallel(1, 1);
        let events = recorded(&u);
        u.add(&path, "video/quicktime", 0, 0).unwrap();
        u.start();
        let t = Instant::now();
        while server
            .c2c_assets()
            .first()
            .is_none_or(|a| a.parts.is_empty())
        {
            assert!(t.elapsed() < Duration::from_secs(20));
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(u);
        assert!(events
            .lock()
            .unwrap()
            .iter()
            .all(|e| e.state != ItemState::Done));
    }
    let before = server.c2c_assets()[0].puts;
    let u = Uploader::new(&client(&server), &state).unwrap();
    u.start();
    assert!(u.wait_idle(Duration::from_secs(20)));
    let assets = server.c2c_assets();
    assert_eq!(assets.len(), 1, "one asset");
    assert!(assets[0].playable());
    assert_eq!(u.items()[0].state, ItemState::Done);
    let sent_again = assets[0].puts - before;
    assert!(
        sent_again <= 3 - 1 + 1,
        "{sent_again} parts sent after the restart"
    );
    assert_eq!(u.items()[0].kind, None);
}

/// The service down for 1.5 s while clips are queued: the uploads wait it
/// out and are taken up again; nothing fails. Progress comes at most every
/// 250 ms per item; a recording added again without the flag is finished
/// at its file's size.
#[test]
fn an_outage_waits_and_progress_is_paced() {
    let server = MockServer::start().unwrap();
    server.c2c_part_target(5 << 20);
    let d = dir("outage");
    let u = Uploader::new(&client(&server), d.join("state")).unwrap();
    let timed: Arc<Mutex<Vec<(Instant, C2cEvent)>>> = Arc::default();
    let t = timed.clone();
    u.on_event(move |e| t.lock().unwrap().push((Instant::now(), *e)));
    let big = clip(&d, "A001.mov", 30 * MIB);
    let rec = clip(&d, "R001.mov", 2 * MIB);
    let id = u.add(&rec, "video/quicktime", 0, ADD_RECORDING).unwrap();
    assert_eq!(u.items()[0].state, ItemState::Recording);
    assert_eq!(u.add(&rec, "video/quicktime", 0, 0).unwrap(), id);
    assert_eq!(
        u.items()[0].final_size,
        Some(2 * MIB as u64),
        "finished at its size"
    );
    u.add(&big, "video/quicktime", 0, 0).unwrap();
    server.set_down(true);
    u.start();
    std::thread::sleep(Duration::from_millis(1500));
    server.set_down(false);
    assert!(u.wait_idle(Duration::from_secs(60)));
    assert!(
        u.items().iter().all(|i| i.state == ItemState::Done),
        "{:?}",
        u.items()
    );
    assert!(server.c2c_assets().iter().all(|a| a.playable()));
    let timed = timed.lock().unwrap();
    let progress: Vec<Instant> = timed
        .iter()
        .filter(|(_, e)| e.id == 2 && e.state == ItemState::Uploading)
        .filter(|(_, e)| e.bytes_done > 0 && e.bytes_done < e.bytes_total)
        .map(|(at, _)| *at)
        .collect();
    let closest = progress.windows(2).map(|w| w[1] - w[0]).min();
    assert!(
        closest.is_none_or(|c| c >= Duration::from_millis(240)),
        "{closest:?} between progress events"
    );
}

/// The uploader's functions called from its own event callback: an item
/// cancelled and another added there, at its first `uploading` event.
#[test]
fn the_event_callback_may_call_the_uploader() {
    let server = MockServer::start().unwrap();
    server.c2c_part_target(5 << 20);
    let d = dir("reentry");
    let u = Arc::new(Uploader::new(&client(&server), d.join("state")).unwrap());
    u.set_parallel(1, 1);
    let later = clip(&d, "B.mov", 1000);
    let weak = Arc::downgrade(&u);
    let once = std::sync::Once::new();
    u.on_event(move |e| {
        if e.id == 1 && e.state == ItemState::Uploading {
            once.call_once(|| {
                let u = weak.upgrade().unwrap();
                u.cancel(1).unwrap();
                u.add(&later, "video/quicktime", 0, 0).unwrap();
            });
        }
    });
    u.add(clip(&d, "A.mov", 20 * MIB), "video/quicktime", 0, 0)
        .unwrap();
    u.start();
    assert!(u.wait_idle(Duration::from_secs(30)));
    let states: Vec<ItemState> = u.items().iter().map(|i| i.state).collect();
    assert_eq!(states, [ItemState::Cancelled, ItemState::Done]);
}
