//! `apiretry demo`'s Camera-to-Cloud queue (`apiretry::c2c`): clips queued
//! in a state directory, one uploaded while it records, one made while the
//! channel was paused (dropped, nothing sent), and a power cut mid-upload
//! after which a new uploader on the same directory resumes.

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apiretry::c2c::{ItemState, Uploader, ADD_RECORDING};
use apiretry::mock::MockServer;
use apiretry::Client;

const MIB: usize = 1 << 20;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The queue's story, step by step; what the table says of it.
pub fn queue_clips(server: &MockServer, client: &Client) -> String {
    server.c2c_part_target(5 << 20);
    let paused_at = now_ms() - 3_600_000;
    server.c2c_pause(paused_at as u64 - 60_000, paused_at as u64 + 60_000);
    let dir = std::env::temp_dir().join(format!("apiretry-demo-c2c-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clip = |name: &str, size: usize| {
        let path = dir.join(name);
        std::fs::write(&path, vec![name.len() as u8; size]).map(|()| path)
    };
    let outcome = (|| -> Result<String, String> {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let (done, paused, cut) = (
            clip("A001_C003.mov", 11 * MIB).map_err(|e| e.to_string())?,
            clip("A001_C004.mov", MIB).map_err(|e| e.to_string())?,
            clip("A001_C005.mov", 16 * MIB).map_err(|e| e.to_string())?,
        );
        let recording = clip("A001_C006.mov", 0).map_err(|e| e.to_string())?;
        let state = dir.join("state");
        let first = Uploader::new(client, &state).map_err(|e| e.to_string())?;
        first.set_parallel(1, 1);
        let (part_of_cut, cut_started) = mpsc::channel();
        first.on_event(move |e| {
            println!(
                "  clip {}: {:?} ({} of {} bytes)",
                e.id, e.state, e.bytes_done, e.bytes_total
            );
            if e.id == 4 && e.bytes_done >= 5 << 20 {
                let _ = part_of_cut.send(());
            }
        });
        first.start();
        let rec = first
            .add(&recording, "video/quicktime", now_ms(), ADD_RECORDING)
            .map_err(|e| e.to_string())?;
        println!("  recording A001_C006 (uploaded as it grows)");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&recording)
            .map_err(|e| e.to_string())?;
        for _ in 0..12 {
            f.write_all(&[6u8; MIB]).map_err(|e| e.to_string())?;
            std::thread::sleep(Duration::from_millis(40));
        }
        first
            .finish(rec, 12 * MIB as u64)
            .map_err(|e| e.to_string())?;
        for (path, made) in [(&done, now_ms()), (&paused, paused_at), (&cut, now_ms())] {
            first
                .add(path, "video/quicktime", made, 0)
                .map_err(|e| e.to_string())?;
        }
        let _ = cut_started.recv_timeout(Duration::from_secs(30));
        println!("  power cut");
        drop(first);
        let second = Uploader::new(client, &state).map_err(|e| e.to_string())?;
        second.on_event(|e| {
            if e.state.is_over() {
                println!("  clip {}: {:?}", e.id, e.state);
            }
        });
        second.start();
        if !second.wait_idle(Duration::from_secs(60)) {
            return Err("the queue did not empty in 60 s".into());
        }
        let items = second.items();
        let count = |s: ItemState| items.iter().filter(|i| i.state == s).count();
        let assets = server.c2c_assets();
        let playable = assets.iter().filter(|a| a.playable()).count();
        Ok(format!(
            "{} clips: {} done (1 in real time), {} dropped (paused); {} assets, {playable} playable, after a power cut",
            items.len(),
            count(ItemState::Done),
            count(ItemState::Dropped),
            assets.len()
        ))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let outcome = outcome.unwrap_or_else(|e| format!("failed: {e}"));
    println!("  {outcome}");
    outcome
}
