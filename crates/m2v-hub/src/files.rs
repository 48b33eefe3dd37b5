//! Which files of a repository a task downloads.

/// A set of file patterns to download from a repository, relative to an optional
/// subfolder, with the files that must be present for the snapshot to be usable.
///
/// Patterns use `fnmatch` rules as in Python `huggingface_hub`'s `allow_patterns`:
/// `*` matches any run of characters (including `/`), `?` one character.
/// Invariant: every `required` path is also matched by `patterns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSelection {
    /// Patterns relative to the subfolder.
    pub patterns: Vec<String>,
    /// Files (relative to the subfolder) without which the snapshot is unusable:
    /// missing on the hub is an error, missing in the cache means "not cached".
    pub required: Vec<String>,
    /// A folder inside the repository holding the model, or `None` for its root.
    pub subfolder: Option<String>,
    /// Ways a repository may store one part (a teacher's weights: one safetensors file,
    /// shards, `pytorch_model.bin`), in order of preference; when not empty, one of
    /// them must be present and only the first present is downloaded.
    pub alternatives: Vec<Alternative>,
}

/// One way of storing a part of a model, e.g. sharded safetensors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// The file (relative to the subfolder) whose presence says the repository uses
    /// this way, e.g. `model.safetensors.index.json`.
    pub marker: String,
    /// The files to download, `marker` included. A pattern containing `-of-` names
    /// numbered shards (`model-00001-of-00003.safetensors`): the cache holds this way
    /// completely only when every shard is there.
    pub patterns: Vec<String>,
}

impl Alternative {
    fn new(marker: &str, patterns: &[&str]) -> Self {
        Alternative {
            marker: marker.to_string(),
            patterns: strings(patterns),
        }
    }

    /// `true` when `rel` (relative to the subfolder) is one of its files.
    pub fn matches(&self, rel: &str) -> bool {
        self.patterns.iter().any(|p| glob_match(p, rel))
    }

    /// `true` when folder `dir` holds the marker and, for numbered shards, all of them.
    pub fn complete_in(&self, dir: &std::path::Path) -> bool {
        if !dir.join(&self.marker).is_file() {
            return false;
        }
        for p in self.patterns.iter().filter(|p| p.contains("-of-")) {
            let names: Vec<String> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| glob_match(p, n) && dir.join(n).is_file())
                .collect();
            // `…-0000i-of-0000n.ext`: n shards expected.
            let total = names.first().and_then(|n| {
                let tail = &n[n.rfind("-of-")? + 4..];
                let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<usize>().ok()
            });
            if total.is_none_or(|t| names.len() != t) {
                return false;
            }
        }
        true
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl FileSelection {
    /// Exactly these patterns, with `required` files.
    pub fn new(patterns: &[&str], required: &[&str]) -> Self {
        let mut patterns = strings(patterns);
        for r in required {
            if !patterns.iter().any(|p| glob_match(p, r)) {
                patterns.push(r.to_string());
            }
        }
        FileSelection {
            patterns,
            required: strings(required),
            subfolder: None,
            alternatives: Vec::new(),
        }
    }

    /// Every file of the repository (nothing required).
    pub fn all() -> Self {
        FileSelection::new(&["*"], &[])
    }

    /// A static (model2vec) model: weights, tokenizer, config and the
    /// sentence-transformers wrapper files.
    pub fn static_model() -> Self {
        FileSelection::new(
            &[
                "config.json",
                "model.safetensors",
                "tokenizer.json",
                "modules.json",
                "config_sentence_transformers.json",
                "README.md",
                "0_StaticEmbedding/*",
                // A trained pipeline's head (model2vec 0.10 `StaticModelPipeline`).
                "head.safetensors",
            ],
            &["config.json", "model.safetensors", "tokenizer.json"],
        )
    }

    /// A sentence-transformers teacher: the transformer's config, weights (one
    /// safetensors file, its shards, or `pytorch_model.bin`, in transformers' order of
    /// preference) and tokenizer files and the sentence-transformers module files
    /// (pooling, dense layers, ...).
    pub fn teacher() -> Self {
        let mut s = FileSelection::new(
            &[
                "config.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "vocab.txt",
                "modules.json",
                "sentence_bert_config.json",
                "config_sentence_transformers.json",
                "1_Pooling/*",
                "2_Normalize/*",
                "2_Dense/*",
                "3_Dense/*",
                "3_Normalize/*",
                "4_Normalize/*",
            ],
            &["config.json", "tokenizer.json"],
        );
        s.alternatives = vec![
            Alternative::new("model.safetensors", &["model.safetensors"]),
            Alternative::new(
                "model.safetensors.index.json",
                &["model.safetensors.index.json", "model-*-of-*.safetensors"],
            ),
            Alternative::new("pytorch_model.bin", &["pytorch_model.bin"]),
            Alternative::new(
                "pytorch_model.bin.index.json",
                &["pytorch_model.bin.index.json", "pytorch_model-*-of-*.bin"],
            ),
        ];
        s
    }

    /// The first alternative whose marker the repository listing `files` (repository
    /// paths) holds; `None` when there are no alternatives or none is present.
    pub fn chosen_alternative(&self, files: &[String]) -> Option<&Alternative> {
        self.alternatives
            .iter()
            .find(|a| files.contains(&self.repo_path(&a.marker)))
    }

    /// The path relative to the subfolder of a repository path (`None` outside it).
    pub fn relative<'a>(&self, repo_path: &'a str) -> Option<&'a str> {
        match &self.subfolder {
            Some(s) => repo_path.strip_prefix(s.as_str())?.strip_prefix('/'),
            None => Some(repo_path),
        }
    }

    /// What either a static model or a teacher needs (for a model argument whose kind
    /// is not known yet).
    pub fn model() -> Self {
        let mut s = FileSelection::teacher();
        for p in FileSelection::static_model().patterns {
            if !s.patterns.contains(&p) {
                s.patterns.push(p);
            }
        }
        // A static model has one `model.safetensors`, which the first alternative is.
        s
    }

    /// The same selection inside `subfolder` of the repository.
    pub fn in_subfolder(mut self, subfolder: &str) -> Self {
        let sub = subfolder.trim_matches('/');
        self.subfolder = (!sub.is_empty()).then(|| sub.to_string());
        self
    }

    /// The repository path of a path relative to the subfolder.
    pub fn repo_path(&self, rel: &str) -> String {
        match &self.subfolder {
            Some(s) => format!("{s}/{rel}"),
            None => rel.to_string(),
        }
    }

    /// `true` when the repository file `repo_path` is selected.
    pub fn matches(&self, repo_path: &str) -> bool {
        let rel = match &self.subfolder {
            Some(s) => match repo_path
                .strip_prefix(s.as_str())
                .and_then(|r| r.strip_prefix('/'))
            {
                Some(r) => r,
                None => return false,
            },
            None => repo_path,
        };
        self.patterns.iter().any(|p| glob_match(p, rel))
    }
}

/// `fnmatch`-style matching: `*` any run (including `/`), `?` one character.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("config.json", "config.json", true),
            ("config.json", "1_Pooling/config.json", false),
            ("1_Pooling/*", "1_Pooling/config.json", true),
            ("*.json", "a/b.json", true),
            ("*.json", "a.jsonl", false),
            ("model.?afetensors", "model.safetensors", true),
            ("*", "", true),
        ] {
            assert_eq!(glob_match(p, t), want, "{p} {t}");
        }
    }

    #[test]
    fn selections() {
        let s = FileSelection::static_model();
        assert!(s.matches("0_StaticEmbedding/tokenizer.json"));
        assert!(!s.matches("onnx/model.onnx"));
        let s = FileSelection::teacher().in_subfolder("/sub/");
        assert!(s.matches("sub/1_Pooling/config.json"));
        assert!(!s.matches("1_Pooling/config.json"));
        assert_eq!(s.repo_path("config.json"), "sub/config.json");
        let m = FileSelection::model();
        assert!(m.matches("0_StaticEmbedding/x") && m.matches("vocab.txt"));
        let n = FileSelection::new(&["a/*"], &["b.txt"]);
        assert!(n.matches("b.txt"));
    }
}
