//! Shared helpers of the parity tests: load a tokenizer.json both with m2v-tokenize and
//! with the HF `tokenizers` crate (the oracle), and compare ids text by text.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use m2v_tokenize::Tokenizer;

pub mod train;

/// Our tokenizer and the oracle, loaded from the same JSON.
pub struct Pair {
    pub name: String,
    pub ours: Tokenizer,
    pub oracle: tokenizers::Tokenizer,
}

impl Pair {
    pub fn from_file(name: &str, path: &Path) -> Pair {
        let ours = Tokenizer::from_file(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut oracle = tokenizers::Tokenizer::from_file(path)
            .unwrap_or_else(|e| panic!("{name}: oracle: {e}"));
        oracle.with_padding(None);
        let _ = oracle.with_truncation(None);
        Pair {
            name: name.to_string(),
            ours,
            oracle,
        }
    }

    pub fn from_json(name: &str, json: &str) -> Pair {
        let ours = Tokenizer::from_json_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut oracle: tokenizers::Tokenizer = json
            .parse()
            .unwrap_or_else(|e| panic!("{name}: oracle: {e}"));
        oracle.with_padding(None);
        let _ = oracle.with_truncation(None);
        Pair {
            name: name.to_string(),
            ours,
            oracle,
        }
    }

    /// The oracle's ids for `text` (add_special_tokens = false).
    pub fn expected(&self, text: &str) -> Vec<u32> {
        match self.oracle.encode(text, false) {
            Ok(e) => e.get_ids().to_vec(),
            Err(e) => panic!("{}: oracle failed on {text:?}: {e}", self.name),
        }
    }

    /// Compares every text; panics listing the first differences.
    pub fn check_all(&self, texts: &[String]) {
        eprintln!("{}: comparing {} texts", self.name, texts.len());
        let mut bad = Vec::new();
        for t in texts {
            let want = self.expected(t);
            let got = self.ours.encode(t);
            if got != want {
                bad.push((t.clone(), got, want));
            }
        }
        if !bad.is_empty() {
            let mut msg = format!(
                "{}: {} of {} texts differ\n",
                self.name,
                bad.len(),
                texts.len()
            );
            for (t, got, want) in bad.iter().take(8) {
                msg.push_str(&format!(
                    "  {t:?}\n    ours:   {got:?}\n    oracle: {want:?}\n"
                ));
            }
            panic!("{msg}");
        }
    }

    /// Checks `encode_into` with a budget and `encode_with_special_tokens` on a few texts.
    pub fn check_api(&self, texts: &[String]) {
        for t in texts.iter().take(200) {
            let full = self.expected(t);
            for max in [0usize, 1, 3, 1000] {
                let mut out = vec![7u32];
                self.ours.encode_into(t, Some(max), &mut out);
                let n = full.len().min(max);
                assert_eq!(&out[1..], &full[..n], "{}: max {max} on {t:?}", self.name);
            }
            let with = self
                .oracle
                .encode(t.as_str(), true)
                .map(|e| e.get_ids().to_vec());
            if let Ok(with) = with {
                assert_eq!(
                    self.ours.encode_with_special_tokens(t),
                    with,
                    "{}: specials on {t:?}",
                    self.name
                );
            }
        }
        assert_eq!(
            self.ours.vocab_size(),
            self.oracle.get_vocab_size(true),
            "{}: vocab size",
            self.name
        );
        for id in 0..self.ours.vocab_size() as u32 + 2 {
            assert_eq!(
                self.ours.id_to_token(id),
                self.oracle.id_to_token(id).as_deref(),
                "{}: id {id}",
                self.name
            );
        }
        for (tok, id) in self.oracle.get_vocab(true) {
            assert_eq!(
                self.ours.token_to_id(&tok),
                Some(id),
                "{}: token {tok:?}",
                self.name
            );
        }
    }
}

/// The tokenizer.json of a fetched model, or `None` (skipped).
pub fn model_file(hub_id: &str, fetch_name: &str) -> Option<PathBuf> {
    let dir = m2v_hub::testing::model_or_skip(hub_id, fetch_name)?;
    Some(dir.join("tokenizer.json"))
}

/// A tokenizer shipped in the shared data, or `None` (skipped).
pub fn shared_tokenizer(name: &str) -> Option<PathBuf> {
    let p = m2v_hub::testing::shared_data()?
        .join("tokenizers")
        .join(name)
        .join("tokenizer.json");
    p.is_file().then_some(p)
}

/// Texts aimed at the regex patterns: contractions in every case (and with the long s
/// that `(?i)` folds to `s`), runs of spaces, tabs and newlines before words, numbers
/// and punctuation, digit runs of every length.
pub fn regex_texts() -> Vec<String> {
    let mut v: Vec<String> = [
        "I'm, you're, he's, we've, they'll, she'd, it't",
        "I'M YOU'RE HE'S WE'VE THEY'LL SHE'D 'Ll 'lL 'rE",
        "'\u{17f} 'ſ 'K \u{212a}",
        "'x ' 's's ''s",
        "a  b   c    d     e",
        "  leading and trailing  ",
        "\t\ttabs\t \t",
        "line\nbreaks\r\nand\r\rreturns\n\n\n",
        " \n \n x",
        "   \n",
        "x \r\n\t y",
        "1 12 123 1234 12345 123456 1234567",
        "٣٤٥٦ ²³¹ ½ ⅔ Ⅻ",
        "a1b22c333d4444",
        "!!! ?? ... ,,, -- —— ...\n\n",
        " !x ?y \"z\" (w) [v] {u}",
        "foo.bar(baz); // qux\n\tif (x) { return y; }",
        "e\u{301}tude \u{301}\u{302}x",
        "😀x x😀 😀 😀😀 ok",
        "中文 字符",
        "\u{a0}x\u{3000}y\u{2009}z",
        "   ",
        "\n",
        " ",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(" ".repeat(3000));
    v.push(format!("{}x", " ".repeat(3000)));
    v.push("9".repeat(1000));
    v.push("\n ".repeat(500));
    v
}

/// The benchmark corpus, or `None` (skipped) without the shared data.
pub fn corpus() -> Option<Vec<String>> {
    let data = m2v_hub::testing::shared_data()?;
    Some(bench_corpus(&data).unwrap_or_else(|e| panic!("corpus: {e}")))
}

/// Hand-made hard cases: accents, CJK, emoji, zero-width and control characters,
/// combining marks, very long words, empty and whitespace-only strings, added tokens
/// in odd places.
pub fn adversarial() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "   \t\n  ",
        "\u{3000}\u{a0}\u{2009}",
        "Hello, World!",
        "héllo wörld ÇA VA? Ñandú, naïve café, résumé",
        "ΣΑΣ Ὀδυσσεύς ΑΒΓ",
        "İstanbul ıi ǅ ß ẞ ﬁ ﬀ",
        "中文字符测试 日本語のテキスト 한국어 텍스트",
        "野口里佳 Noguchi Rika",
        "emoji 😀👍🏽👨‍👩‍👧‍👦 🇫🇷🇩🇪 ❤️ ☺️",
        "zero\u{200b}width\u{200c}non\u{200d}joiner\u{feff}bom",
        "ctrl\u{1}\u{2}\u{7f}\u{80}\u{9f}chars\u{0}nul",
        "replacement \u{fffd} char",
        "e\u{301}\u{301}a\u{323}\u{302} o\u{308}\u{304} combining",
        "\u{301}leading combining",
        "Ａｂｃ１２３ full width ①②③ ㍿ ℃",
        "ａｂｃ！？",
        "numbers 3.14159 1,000,000 ٣٤٥ ๑๒๓ ²³",
        "don't won't it's I'm we've they'll he'd 'quoted' \"double\"",
        "tabs\tand\nnewlines\r\nmixed",
        "trailing spaces   ",
        "   leading spaces",
        "a  b   c    d",
        "[CLS] [SEP] [PAD] [MASK] [UNK] <s> </s> <pad> <unk> <mask>",
        "x[SEP]y<mask>z <mask>  <unk>",
        "hello[MASK]world",
        "   <mask>   ",
        "<pad> pad<pad> <pad>x",
        "https://example.com/path?q=1&r=2#frag user@mail.com",
        "C++ C# .NET node.js",
        "$100 €50 £30 ¥20",
        "—–-‒ … ‘’“” «» ¿¡",
        "Ελληνικά русский язык עברית العربية हिन्दी ภาษาไทย",
        "क्षत्रिय ज्ञान श्री",
        "ﷺ ﷽",
        "\u{1F600}\u{1F601}\u{1F602}",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝",
        "a\u{0}b",
        "\u{e000}private\u{f8ff}use",
        "\u{10ffff}\u{fffe}",
        "Ǆǅǆ ǈ ǋ",
        "ﬃ ﬄ ſt",
        "Å Å Å",
        "한\u{1100}\u{1161}\u{11a8}",
        "▁already▁has▁metaspace",
        "ĠgptĠlikeĠchars",
        "##continuation ##s",
        "....... !!!! ???",
        "a.b,c;d:e!f?g",
        "   \n\n\n   ",
        "🧑🏻‍💻 a\u{200d}b",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("a".repeat(99));
    v.push("a".repeat(100));
    v.push("a".repeat(101));
    v.push("é".repeat(101));
    v.push("supercalifragilisticexpialidocious".repeat(5));
    v.push(format!("{} end", "x".repeat(500)));
    v.push("word ".repeat(300));
    v.push("ab".repeat(200));
    v.push("中".repeat(150));
    v.push("😀".repeat(50));
    v
}

// The corpus builder below is a copy of `m2v_eval::corpus` (std only), kept here so
// these tests do not depend on the benchmark crate and its heavier dependencies. Keep
// it in sync with crates/m2v-eval/src/corpus.rs.

/// Reads a text file as UTF-8, falling back to Latin-1 (some SentEval files use it).
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    })
}

/// Splits one line of a CSV file with `"`-quoted fields (AG News).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// The benchmark corpus: every text of the sentence-level evaluation sets, one per
/// element, in a fixed order (STS-B, SST-2, TREC, MR, CR, SUBJ, MPQA, AG News).
pub fn bench_corpus(data: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for split in ["train", "dev", "test"] {
        let text = read_text(&data.join(format!("stsbenchmark/sts-{split}.csv")))?;
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() >= 7 {
                out.push(cols[5].to_string());
                out.push(cols[6].to_string());
            }
        }
    }
    for split in ["train", "dev", "test"] {
        let text = read_text(&data.join(format!("senteval/SST/binary/sentiment-{split}")))?;
        out.extend(
            text.lines()
                .filter_map(|l| l.rsplit_once('\t'))
                .map(|(t, _)| t.to_string()),
        );
    }
    for f in ["train_5500.label", "TREC_10.label"] {
        let text = read_text(&data.join("senteval/TREC").join(f))?;
        out.extend(
            text.lines()
                .filter_map(|l| l.split_once(' '))
                .map(|(_, t)| t.to_string()),
        );
    }
    for f in [
        "MR/rt-polarity.pos",
        "MR/rt-polarity.neg",
        "CR/custrev.pos",
        "CR/custrev.neg",
        "SUBJ/subj.objective",
        "SUBJ/subj.subjective",
        "MPQA/mpqa.pos",
        "MPQA/mpqa.neg",
    ] {
        let text = read_text(&data.join("senteval").join(f))?;
        out.extend(text.lines().map(str::to_string));
    }
    let text = read_text(&data.join("ag_news/test.csv"))?;
    for line in text.lines() {
        let f = csv_fields(line);
        if f.len() >= 3 {
            out.push(format!("{} {}", f[1], f[2].replace('\\', " ")));
        }
    }
    Ok(out)
}
