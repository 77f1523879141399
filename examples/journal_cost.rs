//! What an upload's journal costs the disk: the bytes written for it while
//! N parts go (default 10,000, S3's most) to the mock's S3 side, in parts
//! of 1 KiB with S3's part rules off, 8 in flight. Each part's record is
//! appended and flushed; the journal is written whole once at the end.
//! Beside it, what the first journal format (the whole journal written
//! again per part) would have written for the same parts, computed from
//! the same records.
//!
//! Run: `cargo run --release --features mock --example journal_cost [-- N]`

use apiretry::mock::{MockServer, S3_PREFIX};
use apiretry::upload::Upload;
use apiretry::{Client, Request};

fn main() {
    let parts: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let server = MockServer::start().expect("the mock starts");
    server.s3_multipart();
    let dir = std::env::temp_dir().join(format!("apiretry-journal-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (clip, journal) = (dir.join("clip.mov"), dir.join("clip.journal"));
    std::fs::write(&clip, vec![7u8; parts * 1024]).unwrap();
    let client = Client::builder(server.url()).build();
    let object = format!("{}{S3_PREFIX}clip.mov", server.url());
    let started = client
        .send(&Request::post(format!("{object}?uploads")))
        .expect("initiated");
    let text = String::from_utf8_lossy(started.body()).into_owned();
    let id = text
        .split_once("<UploadId>")
        .and_then(|(_, r)| r.split_once("</UploadId>"))
        .map(|(id, _)| id.to_owned())
        .unwrap();
    let urls = (1..=parts)
        .map(|n| format!("{object}?partNumber={n}&uploadId={id}"))
        .collect();
    let t = std::time::Instant::now();
    let done = Upload::new(&client, &clip, 1024)
        .part_rules(false)
        .parallel(8)
        .urls(urls)
        .journal(&journal)
        .run(None)
        .expect("uploaded");
    let took = t.elapsed();
    let compacted = std::fs::metadata(&journal).unwrap().len();
    // The first format: pretty JSON of {version, file, layout, done}, all
    // of it written (and flushed) again as each part ended.
    let head = 200u64; // its version, file and layout, pretty-printed
    let record = |i: usize| -> u64 {
        let etag = serde_json::to_string(&done.etags[i]).unwrap();
        format!("    \"{}\": {etag},\n", i + 1).len() as u64
    };
    let mut before = 0u64;
    let mut size = head;
    for i in 0..parts {
        size += record(i);
        before += size;
    }
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!(
        "{parts} parts in {:.1} s: the journal cost {} bytes ({:.1} per part; {compacted} bytes once compacted)",
        took.as_secs_f64(),
        done.journal_bytes,
        done.journal_bytes as f64 / parts as f64,
    );
    println!(
        "the first format would have written {before} bytes ({:.0} MiB, {:.0}x)",
        mib(before),
        before as f64 / done.journal_bytes as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}
