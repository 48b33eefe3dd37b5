//! Parity with HF `tokenizers` on the real WordPiece tokenizers (BERT pipelines):
//! identical ids for every text of the benchmark corpus and the adversarial set.

mod common;

use common::{Pair, adversarial, corpus, model_file};

fn run(hub_id: &str, fetch: &str) {
    let Some(path) = model_file(hub_id, fetch) else {
        return;
    };
    let pair = Pair::from_file(hub_id, &path);
    pair.check_all(&adversarial());
    pair.check_api(&adversarial());
    if let Some(c) = corpus() {
        pair.check_all(&c);
    }
}

#[test]
fn potion_base_8m() {
    run("minishlab/potion-base-8M", "potion-base-8M");
}

#[test]
fn all_minilm_l6_v2() {
    run("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2");
}

#[test]
fn all_mpnet_base_v2() {
    run(
        "sentence-transformers/all-mpnet-base-v2",
        "all-mpnet-base-v2",
    );
}
