//! The file store's atomicity: a writer killed at random points, over and
//! over, always leaves a file that parses and holds one whole token set.

use std::process::{Command, Stdio};
use std::time::Duration;

use apiretry::{FileStore, Secret, TokenStore, Tokens};

const WRITER: &str = "APIRETRY_STORE_WRITER";

/// Set `n`: every field says `n`, so a torn or mixed set shows.
fn set(n: u64) -> Tokens {
    Tokens::new(Secret::new(format!("access-{n}")))
        .with_refresh_token(Secret::new(format!("refresh-{n}")))
        .with_life(n, 3600)
}

/// The writer, when this binary is run as one: saves sets 0, 1, 2, ...
/// until killed.
#[test]
fn writer_child() {
    let Some(path) = std::env::var_os(WRITER) else {
        return;
    };
    let store = FileStore::new(path);
    for n in 0.. {
        store.save(&set(n)).unwrap();
    }
}

#[test]
fn a_killed_writer_leaves_one_whole_token_set() {
    let dir = std::env::temp_dir().join(format!("apiretry-store-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokens.json");
    let store = FileStore::new(&path);
    let (mut rounds, mut newest) = (0, 0);
    for _ in 0..40 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["writer_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(WRITER, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(fastrand::u64(20..120)));
        child.kill().unwrap(); // SIGKILL: no destructor, no flush
        child.wait().unwrap();
        let Some(t) = store.load().unwrap() else {
            continue; // killed before its first save
        };
        let n = t.issued_at.unwrap();
        assert_eq!(t, set(n), "a torn or mixed set");
        rounds += 1;
        newest = newest.max(n);
    }
    assert!(rounds >= 30, "only {rounds} of 40 writers saved anything");
    assert!(newest > 10, "the writers hardly wrote ({newest} sets)");
    std::fs::remove_dir_all(dir).unwrap();
}
