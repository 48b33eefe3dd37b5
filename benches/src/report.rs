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
    /// How it is scored (split sizes, folds, subsets).
    pub protocol: String,
}

impl From<&Task> for TaskInfo {
    fn from(t: &Task) -> Self {
        TaskInfo {
            name: t.name.clone(),
            group: t.group,
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
    /// Single-thread speed.
    pub speed_single: Option<Speed>,
    /// All-threads speed.
    pub speed_all: Option<Speed>,
    /// Seconds spent embedding and scoring the tasks.
    pub eval_seconds: f64,
}

impl ModelResult {
    /// Mean score over the tasks of `group` (all tasks when `None`); `None` when the
    /// model has no score for some task of the report.
    pub fn average(&self, tasks: &[TaskInfo], group: Option<Group>) -> Option<f64> {
        let wanted: Vec<&TaskInfo> = tasks
            .iter()
            .filter(|t| group.is_none_or(|g| t.group == g))
            .collect();
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

impl Report {
    /// The Markdown rendering: a header, the summary table, the per-task table and
    /// the notes.
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
        let _ = writeln!(
            o,
            "| Model | Implementation | Avg | STS | Class | WordSim | Params | Dim | texts/s (1 thread) | texts/s ({} threads) |",
            self.threads
        );
        let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.models {
            let avg = |g| {
                if r.scores_not_run.is_some() {
                    "not run".to_string()
                } else {
                    cell(r.average(&self.tasks, g))
                }
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.name,
                r.implementation,
                avg(None),
                avg(Some(Group::Sts)),
                avg(Some(Group::Classification)),
                avg(Some(Group::WordSim)),
                human_params(r.params),
                r.dim,
                speed_cell(r.speed_single.as_ref()),
                speed_cell(r.speed_all.as_ref()),
            );
        }
        let _ = writeln!(
            o,
            "\nPer task (Spearman ×100 for STS and WordSim, accuracy ×100 for classification):\n"
        );
        let _ = write!(o, "| Model |");
        for t in &self.tasks {
            let _ = write!(o, " {} |", t.name);
        }
        let _ = write!(o, "\n|---|");
        for _ in &self.tasks {
            let _ = write!(o, "---:|");
        }
        o.push('\n');
        for r in &self.models {
            let _ = write!(o, "| {} ({}) |", r.name, r.implementation);
            for t in &self.tasks {
                let s = r.scores.iter().find(|s| s.task == t.name).map(|s| s.score);
                let c = if r.scores_not_run.is_some() {
                    "not run".into()
                } else {
                    cell(s)
                };
                let _ = write!(o, " {c} |");
            }
            o.push('\n');
        }
        let _ = writeln!(o, "\nTasks:\n");
        for t in &self.tasks {
            let _ = writeln!(o, "- **{}** ({:?}): {}", t.name, t.group, t.protocol);
        }
        let _ = writeln!(o, "\nMethod:\n");
        let _ = writeln!(o, "- Classifier: {}.", self.classifier);
        let _ = writeln!(
            o,
            "- Avg is the unweighted mean of all {} task scores; STS, Class and WordSim average their family. An STS year (STS12-16) is the mean of its subsets' Spearman correlations.",
            self.tasks.len()
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
                protocol: "p".into(),
            },
            TaskInfo {
                name: "B".into(),
                group: Group::Classification,
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
            md.contains("| m | x | 75.00 | 70.00 | 80.00 | – | 7.6M | 256 | not run | 20.0 |"),
            "{md}"
        );
        assert!(md.contains("| m (x) | 70.00 | 80.00 |"), "{md}");
    }
}
