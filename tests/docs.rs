//! The guides' C and C++ examples are the programs the tests run: each
//! ```c or ```cpp block in README.md and docs/ opens with a comment naming
//! its program in examples-c/: `/* examples-c/x.c */` for the whole file,
//! `/* from examples-c/x.c... */` for an excerpt, whose lines must appear
//! there in a row (indentation aside). (The Rust blocks are doctests:
//! src/lib.rs includes every guide.)

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The fenced blocks of `lang` in `text`: their lines.
fn blocks<'a>(text: &'a str, lang: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() == format!("```{lang}") {
            out.push(
                lines
                    .by_ref()
                    .take_while(|l| !l.starts_with("```"))
                    .collect(),
            );
        }
    }
    out
}

/// The program a block's first line names, and whether it is all of it.
fn source(first: &str) -> Option<(&str, bool)> {
    let inner = first
        .trim()
        .trim_start_matches("/*")
        .trim_start_matches("//")
        .trim_end_matches("*/")
        .trim();
    let (whole, rest) = match inner.strip_prefix("from ") {
        Some(rest) => (false, rest),
        None => (true, inner),
    };
    let path = rest.split([':', ' ']).next()?;
    path.starts_with("examples-c/").then_some((path, whole))
}

fn guides() -> Vec<std::path::PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn c_and_cpp_examples_are_the_tested_programs() {
    let mut checked = 0;
    for guide in guides() {
        let text = std::fs::read_to_string(&guide).unwrap();
        for lang in ["c", "cpp"] {
            for block in blocks(&text, lang) {
                let name = guide.display();
                let (path, whole) = source(block[0]).unwrap_or_else(|| {
                    panic!(
                        "{name}: a {lang} block does not name its program: {:?}",
                        block[0]
                    )
                });
                let program = std::fs::read_to_string(Path::new(ROOT).join(path))
                    .unwrap_or_else(|e| panic!("{name}: {path}: {e}"));
                let body = &block[1..];
                if whole {
                    assert_eq!(
                        body.join("\n").trim(),
                        program.trim(),
                        "{name}: {path} differs from its block"
                    );
                } else {
                    let want: Vec<&str> = body.iter().map(|l| l.trim()).collect();
                    let have: Vec<&str> = program.lines().map(str::trim).collect();
                    assert!(
                        have.windows(want.len()).any(|w| w == want.as_slice()),
                        "{name}: this excerpt is not in {path}:\n{}",
                        body.join("\n")
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} blocks");
}

#[test]
fn the_front_page_stays_a_front_page() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines < 200,
        "README.md has {lines} lines: move reference material to docs/"
    );
    for guide in guides().iter().skip(1) {
        let name = guide.file_name().unwrap().to_string_lossy();
        assert!(
            readme.contains(&format!("docs/{name}")),
            "README.md does not link {name}"
        );
    }
}
