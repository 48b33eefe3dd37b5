//! The results: one [`Report`] rendered as Markdown and JSON.

use std::fmt::Write as _;

use crate::eval::{Speed, TaskScore};
use crate::machine::Machine;
use crate::tasks::{Group, Task};

/// A task as the report describes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskInfo {
    /// Column name.
    pub name: String,
    /// Family.
    pub group: Group,
    /// Language (ISO 639-1) of a multilingual task.
    pub lang: Option<String>,
    /// How it is scored (split sizes, folds, subsets).
    pub protocol: String,
}

impl From<&Task> for TaskInfo {
    fn from(t: &Task) -> Self {
        TaskInfo {
            name: t.name.clone(),
            group: t.group,
            lang: t.lang.clone(),
            protocol: t.protocol_note(),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelResult {
    /// Model name.
    pub name: String,
    /// What ran it (m2v, Python model2vec, model2vec-rs).
    pub implementation: String,
    /// Parameter count.
    pub params: usize,
    /// Embedding dimension.
    pub dim: usize,
    /// Task scores (empty when the scores were not run).
    pub scores: Vec<TaskScore>,
    /// Why the scores are missing, if they are.
    pub scores_not_run: Option<String>,
    /// Why some tasks were not scored (the others were), if so.
    pub tasks_skipped: Option<String>,
    /// Single-thread speed.
    pub speed_single: Option<Speed>,
    /// All-threads speed.
    pub speed_all: Option<Speed>,
    /// Seconds spent embedding and scoring the tasks.
    pub eval_seconds: f64,
}

impl ModelResult {
    /// Mean score over the tasks of `group` (all English tasks when `None`: the
    /// English table's Avg); `None` when the model has no score for some task of the
    /// report.
    pub fn average(&self, tasks: &[TaskInfo], group: Option<Group>) -> Option<f64> {
        self.mean_over(tasks, |t| match group {
            Some(g) => t.group == g,
            None => t.group.is_english(),
        })
    }

    /// Mean score over the multilingual tasks of `lang` (all languages when `None`)
    /// and `group` (all multilingual families when `None`); `None` when the report
    /// has no such task or the model misses one of them.
    pub fn ml_average(
        &self,
        tasks: &[TaskInfo],
        lang: Option<&str>,
        group: Option<Group>,
    ) -> Option<f64> {
        self.mean_over(tasks, |t| {
            !t.group.is_english()
                && group.is_none_or(|g| t.group == g)
                && lang.is_none_or(|l| t.lang.as_deref() == Some(l))
        })
    }

    /// The score of task `name`, if scored.
    pub fn score(&self, name: &str) -> Option<&TaskScore> {
        self.scores.iter().find(|s| s.task == name)
    }

    fn mean_over(&self, tasks: &[TaskInfo], keep: impl Fn(&TaskInfo) -> bool) -> Option<f64> {
        let wanted: Vec<&TaskInfo> = tasks.iter().filter(|t| keep(t)).collect();
        if wanted.is_empty() {
            return None;
        }
        let mut sum = 0.0;
        for t in &wanted {
            sum += self.scores.iter().find(|s| s.task == t.name)?.score;
        }
        Some(sum / wanted.len() as f64)
    }
}

/// Everything one `m2v-bench` run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// `full` or `quick`.
    pub mode: String,
    /// When it ran.
    pub date: String,
    /// The command line.
    pub command: String,
    /// Where it ran.
    pub machine: Machine,
    /// Threads of the "all threads" speed column.
    pub threads: usize,
    /// The classifier of the classification tasks.
    pub classifier: String,
    /// The tasks, in column order.
    pub tasks: Vec<TaskInfo>,
    /// Texts in the speed corpus.
    pub corpus_texts: usize,
    /// Seconds the speed measurement may spend per model and configuration.
    pub speed_budget_s: f64,
    /// Seconds each speed measurement runs at least (in passes over the corpus).
    pub speed_min_s: f64,
    /// The rows.
    pub models: Vec<ModelResult>,
    /// Wall-clock seconds of the whole run.
    pub runtime_s: f64,
    /// Free-form notes (skipped peers, aggregation rules).
    pub notes: Vec<String>,
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.2}"))
}

/// Formats a parameter count like the seed README (`7.6M`, `22.7M`, `0`).
pub fn human_params(p: usize) -> String {
    match p {
        0 => "0".into(),
        p if p >= 1_000_000 => format!("{:.1}M", p as f64 / 1e6),
        p => format!("{:.0}K", p as f64 / 1e3),
    }
}

fn speed_cell(s: Option<&Speed>) -> String {
    match s {
        None => "not run".into(),
        Some(s) if s.texts_per_s >= 100.0 => format!("{:.0}", s.texts_per_s),
        Some(s) => format!("{:.1}", s.texts_per_s),
    }
}

fn missing(r: &ModelResult) -> &'static str {
    if r.scores_not_run.is_some() {
        "not run"
    } else if r.tasks_skipped.is_some() {
        "skipped"
    } else {
        "–"
    }
}

impl Report {
    /// The languages of the report's multilingual tasks, sorted.
    pub fn languages(&self) -> Vec<String> {
        let mut l: Vec<String> = self.tasks.iter().filter_map(|t| t.lang.clone()).collect();
        l.sort();
        l.dedup();
        l
    }

    /// The Markdown rendering: a header, the English summary table (one column per
    /// family), the multilingual table (per-language averages), the per-task tables
    /// and the notes.
    pub fn to_markdown(&self) -> String {
        let mut o = String::new();
        let m = &self.machine;
        let _ = writeln!(o, "### m2v benchmark ({} mode, {})\n", self.mode, self.date);
        let _ = writeln!(
            o,
            "Machine: {}, {} logical CPUs, {:.0} GiB RAM, {}. Run time: {:.1} min. Command: `{}`.\n",
            m.cpu,
            m.logical_cpus,
            m.memory_gib,
            m.os,
            self.runtime_s / 60.0,
            self.command
        );
        let families: Vec<(Group, &str)> = Group::ENGLISH
            .iter()
            .copied()
            .filter(|(g, _)| self.tasks.iter().any(|t| t.group == *g))
            .collect();
        let _ = write!(o, "| Model | Implementation | Avg |");
        for (_, name) in &families {
            let _ = write!(o, " {name} |");
        }
        let _ = writeln!(
            o,
            " Params | Dim | texts/s (1 thread) | texts/s ({} threads) |",
            self.threads
        );
        let _ = writeln!(
            o,
            "|---|---|---:|{}---:|---:|---:|---:|",
            "---:|".repeat(families.len())
        );
        for r in &self.models {
            let avg = |g| match r.average(&self.tasks, g) {
                Some(v) => cell(Some(v)),
                None => missing(r).to_string(),
            };
            let _ = write!(o, "| {} | {} | {} |", r.name, r.implementation, avg(None));
            for (g, _) in &families {
                let _ = write!(o, " {} |", avg(Some(*g)));
            }
            let _ = writeln!(
                o,
                " {} | {} | {} | {} |",
                human_params(r.params),
                r.dim,
                speed_cell(r.speed_single.as_ref()),
                speed_cell(r.speed_all.as_ref()),
            );
        }
        let langs = self.languages();
        let ml_families: Vec<(Group, &str)> = Group::MULTILINGUAL
            .iter()
            .copied()
            .filter(|(g, _)| self.tasks.iter().any(|t| t.group == *g))
            .collect();
        let ml_rows: Vec<&ModelResult> = self
            .models
            .iter()
            .filter(|r| r.scores.iter().any(|s| !s.group.is_english()))
            .collect();
        if !langs.is_empty() && !ml_rows.is_empty() {
            let _ = writeln!(
                o,
                "\nMultilingual: the mean of each language's tasks (XQuAD retrieval in the language and to English, nDCG@10; STS-B-mt, Spearman; Tatoeba to English, F1; all ×100), then each family's mean over its languages:\n"
            );
            let _ = write!(o, "| Model | Implementation | Avg |");
            for l in &langs {
                let _ = write!(o, " {l} |");
            }
            for (_, name) in &ml_families {
                let _ = write!(o, " {name} |");
            }
            let _ = writeln!(
                o,
                "\n|---|---|---:|{}",
                "---:|".repeat(langs.len() + ml_families.len())
            );
            for r in &ml_rows {
                let c = |v: Option<f64>| {
                    v.map_or_else(|| missing(r).to_string(), |x| format!("{x:.2}"))
                };
                let _ = write!(
                    o,
                    "| {} | {} | {} |",
                    r.name,
                    r.implementation,
                    c(r.ml_average(&self.tasks, None, None))
                );
                for l in &langs {
                    let _ = write!(o, " {} |", c(r.ml_average(&self.tasks, Some(l), None)));
                }
                for (g, _) in &ml_families {
                    let _ = write!(o, " {} |", c(r.ml_average(&self.tasks, None, Some(*g))));
                }
                o.push('\n');
            }
        }
        let english: Vec<&TaskInfo> = self.tasks.iter().filter(|t| t.group.is_english()).collect();
        let _ = writeln!(
            o,
            "\nPer English task (Spearman ×100 for STS and WordSim, accuracy ×100 for classification, nDCG@10 and Recall@100 ×100 for retrieval, V-measure ×100 for clustering, average precision ×100 for pair classification):\n"
        );
        let _ = write!(o, "| Model |");
        let mut ncols = 0;
        for t in &english {
            let _ = write!(o, " {} |", t.name);
            ncols += 1;
            if t.group == Group::Retrieval {
                let _ = write!(o, " {} R@100 |", t.name);
                ncols += 1;
            }
        }
        let _ = writeln!(o, "\n|---|{}", "---:|".repeat(ncols));
        for r in &self.models {
            let _ = write!(o, "| {} ({}) |", r.name, r.implementation);
            for t in &english {
                let s = r.score(&t.name);
                let c = |v: Option<f64>| {
                    v.map_or_else(|| missing(r).to_string(), |x| format!("{x:.2}"))
                };
                let _ = write!(o, " {} |", c(s.map(|s| s.score)));
                if t.group == Group::Retrieval {
                    let rec = s
                        .and_then(|s| s.parts.iter().find(|p| p.0 == "Recall@100"))
                        .map(|p| p.1);
                    let _ = write!(o, " {} |", c(rec));
                }
            }
            o.push('\n');
        }
        for (g, name) in &ml_families {
            let _ = writeln!(o, "\nPer language, {name}:\n");
            let tasks: Vec<&TaskInfo> = self.tasks.iter().filter(|t| t.group == *g).collect();
            let _ = write!(o, "| Model |");
            for t in &tasks {
                let _ = write!(o, " {} |", t.lang.as_deref().unwrap_or(&t.name));
            }
            let _ = writeln!(o, "\n|---|{}", "---:|".repeat(tasks.len()));
            for r in &ml_rows {
                let _ = write!(o, "| {} ({}) |", r.name, r.implementation);
                for t in &tasks {
                    let v = r.score(&t.name).map(|s| s.score);
                    let _ = write!(
                        o,
                        " {} |",
                        v.map_or_else(|| missing(r).to_string(), |x| format!("{x:.2}"))
                    );
                }
                o.push('\n');
            }
        }
        let _ = writeln!(o, "\nTasks:\n");
        for t in &self.tasks {
            let _ = writeln!(o, "- **{}** ({:?}): {}", t.name, t.group, t.protocol);
        }
        let _ = writeln!(o, "\nMethod:\n");
        let _ = writeln!(o, "- Classifier: {}.", self.classifier);
        let _ = writeln!(
            o,
            "- Avg is the unweighted mean of all {} English task scores; each family column averages its tasks. An STS year (STS12-16) is the mean of its subsets' Spearman correlations. The multilingual Avg is the mean of all {} multilingual task scores.",
            english.len(),
            self.tasks.len() - english.len()
        );
        let _ = writeln!(
            o,
            "- Retrieval and bitext mining: exhaustive cosine search (rows normalised, every query against every document, parallel over queries); nDCG@10 and Recall@100 as trec_eval computes them (pytrec_eval, MTEB); bitext F1 as MTEB (scikit-learn's weighted F1 of each sentence's nearest English sentence). Clustering: mini-batch k-means (batch 500, k-means++ on 1500 points, stopped after 10 steps without improvement of the smoothed inertia) with k = the number of classes, V-measure averaged over seeds. Pair classification: average precision of the cosine (scikit-learn's)."
        );
        let _ = writeln!(
            o,
            "- Speed: texts/s encoding the benchmark corpus ({} texts of the sentence sets, shuffled with a fixed seed) in calls of 16384 texts (256 for teachers), after one untimed warm-up call of 256 texts, in passes over the corpus until at least one pass and {:.0} s are done (the steady throughput of a long job); a model stops after {:.0} s and is timed on the prefix it reached.",
            self.corpus_texts, self.speed_min_s, self.speed_budget_s
        );
        for n in &self.notes {
            let _ = writeln!(o, "- {n}");
        }
        for r in &self.models {
            if let Some(why) = &r.scores_not_run {
                let _ = writeln!(
                    o,
                    "- {} ({}): scores not run: {why}.",
                    r.name, r.implementation
                );
            }
            if let Some(why) = &r.tasks_skipped {
                let _ = writeln!(o, "- {} ({}): {why}.", r.name, r.implementation);
            }
            let z: usize = r
                .scores
                .iter()
                .filter(|s| s.group == Group::WordSim)
                .map(|s| s.zero_vectors)
                .sum();
            if z > 0 {
                let _ = writeln!(
                    o,
                    "- {} ({}): {z} word pairs had a word the model embeds as the zero vector; they count with cosine 0.",
                    r.name, r.implementation
                );
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_and_markdown() {
        let tasks = vec![
            TaskInfo {
                name: "A".into(),
                group: Group::Sts,
                lang: None,
                protocol: "p".into(),
            },
            TaskInfo {
                name: "B".into(),
                group: Group::Classification,
                lang: None,
                protocol: "q".into(),
            },
        ];
        let score = |t: &str, g, s| TaskScore {
            task: t.into(),
            group: g,
            score: s,
            parts: vec![],
            zero_vectors: 0,
        };
        let r = ModelResult {
            name: "m".into(),
            implementation: "x".into(),
            params: 7_559_168,
            dim: 256,
            scores: vec![
                score("A", Group::Sts, 70.0),
                score("B", Group::Classification, 80.0),
            ],
            scores_not_run: None,
            tasks_skipped: None,
            speed_single: None,
            speed_all: Some(Speed {
                threads: 2,
                texts: 10,
                seconds: 0.5,
                texts_per_s: 20.0,
            }),
            eval_seconds: 1.0,
        };
        assert_eq!(r.average(&tasks, None), Some(75.0));
        assert_eq!(r.average(&tasks, Some(Group::Sts)), Some(70.0));
        assert_eq!(r.average(&tasks, Some(Group::WordSim)), None);
        let mut partial = r.clone();
        partial.scores.pop();
        assert_eq!(partial.average(&tasks, None), None);
        assert_eq!(human_params(7_559_168), "7.6M");
        let rep = Report {
            mode: "quick".into(),
            date: "d".into(),
            command: "c".into(),
            machine: crate::machine::machine(),
            threads: 2,
            classifier: "lr".into(),
            tasks,
            corpus_texts: 10,
            speed_budget_s: 1.0,
            speed_min_s: 0.0,
            models: vec![r],
            runtime_s: 60.0,
            notes: vec![],
        };
        let md = rep.to_markdown();
        assert!(
            md.contains("| m | x | 75.00 | 70.00 | 80.00 | 7.6M | 256 | not run | 20.0 |"),
            "{md}"
        );
        assert!(md.contains("| m (x) | 70.00 | 80.00 |"), "{md}");
    }
}
