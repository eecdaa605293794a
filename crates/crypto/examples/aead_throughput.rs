//! Single-core throughput of sealing and opening through the envelope (header, place-bound
//! associated data, XChaCha20-Poly1305), for BENCHMARKS.md. Run by `cargo xtask bench`.
//! Prints one line per case: `seal|open SIZE MB_PER_S`.

// A measuring tool: a failure should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ideaweave_crypto::{KeyId, Place, SecretKey, open, seal};

fn main() {
    let key = SecretKey::generate().expect("randomness");
    let id = KeyId::now_v7();
    let place = Place {
        workspace: uuid::Uuid::now_v7(),
        table: "ideas",
        column: "body",
        row: uuid::Uuid::now_v7(),
    };
    for size in [64usize, 1024, 16 * 1024] {
        let data = vec![0x5au8; size];
        let sealed = seal(&key, id, 1, &place, &data).expect("seal");
        for (what, f) in [
            (
                "seal",
                Box::new(|| {
                    std::hint::black_box(seal(&key, id, 1, &place, &data).ok());
                }) as Box<dyn Fn()>,
            ),
            (
                "open",
                Box::new(|| {
                    std::hint::black_box(open(&key, id, 1, &place, &sealed).ok());
                }),
            ),
        ] {
            for _ in 0..200 {
                f();
            }
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < Duration::from_secs(2) {
                for _ in 0..64 {
                    f();
                }
                n += 64;
            }
            let mbps = (n as f64 * size as f64) / start.elapsed().as_secs_f64() / 1e6;
            println!("{what} {size} {mbps:.1}");
        }
    }
}
