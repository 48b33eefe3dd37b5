//! The encoding queue: jobs from concurrent requests, encoded together.
//!
//! Handlers [`Batcher::submit`] a job and await its reply. Each encoding thread waits
//! for work, takes every job queued (up to `max_batch_texts` texts, at least one job),
//! groups them by model and options, encodes each group with one library call, and
//! replies to each job with its rows. The queue is bounded in texts: a job that would
//! pass the bound is refused at once ([`Refused::Full`], a 429), so memory stays flat
//! under overload. A panic while encoding is caught and answered as an error; the
//! thread goes on.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use m2v_static::EncodeOptions;
use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::models::Served;

/// What to compute for a job's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    /// Embeddings; `truncate: false` pools every token instead of the model's
    /// `max_length`.
    Embed { normalize: bool, truncate: bool },
    /// A pipeline's head outputs: probabilities, or logits when `raw`.
    Predict { raw: bool, truncate: bool },
}

/// One request's work.
#[derive(Debug)]
pub(crate) struct Job {
    pub model: usize,
    pub texts: Vec<String>,
    pub task: Task,
    pub reply: oneshot::Sender<Result<Rows, String>>,
}

/// A job's result: `texts.len()` rows of `width` values, and each text's token count.
#[derive(Debug)]
pub(crate) struct Rows {
    pub data: Vec<f32>,
    pub width: usize,
    pub tokens: Vec<u32>,
}

impl Rows {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.width..(i + 1) * self.width]
    }
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue holds too many texts already.
    Full,
    /// The server is shutting down.
    Closed,
}

#[derive(Debug, Default)]
struct Queue {
    jobs: VecDeque<Job>,
    texts: usize,
    closed: bool,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    models: Arc<[Served]>,
    max_batch_texts: usize,
    max_queue_texts: usize,
    metrics: Arc<Metrics>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The queue and its encoding threads; dropping it lets them finish the queued jobs
/// and joins them.
#[derive(Debug)]
pub(crate) struct Batcher {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Batcher {
    /// The queue with no encoding thread yet ([`Batcher::start`] adds them).
    pub fn new(
        models: Arc<[Served]>,
        max_batch_texts: usize,
        max_queue_texts: usize,
        metrics: Arc<Metrics>,
    ) -> Batcher {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            models,
            max_batch_texts: max_batch_texts.max(1),
            max_queue_texts: max_queue_texts.max(1),
            metrics,
        });
        Batcher {
            shared,
            threads: Vec::new(),
        }
    }

    /// Starts `n` encoding threads.
    pub fn start(&mut self, n: usize) -> std::io::Result<()> {
        for _ in 0..n {
            let s = self.shared.clone();
            let i = self.threads.len();
            self.threads.push(
                std::thread::Builder::new()
                    .name(format!("m2v-serve-encode-{i}"))
                    .spawn(move || work(&s))?,
            );
        }
        Ok(())
    }

    /// Queues `job`, or refuses it when the queue is full or closed. A job larger than
    /// the whole queue is taken when the queue is empty (the request limit bounds it).
    pub fn submit(&self, job: Job) -> Result<(), Refused> {
        let mut q = self.shared.lock();
        if q.closed {
            return Err(Refused::Closed);
        }
        let n = job.texts.len();
        if q.texts > 0 && q.texts + n > self.shared.max_queue_texts {
            return Err(Refused::Full);
        }
        q.texts += n;
        q.jobs.push_back(job);
        self.shared.metrics.set_queued(q.texts);
        drop(q);
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Refuses new jobs from now on; the queued ones are still encoded.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.close();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// An encoding thread's loop.
fn work(s: &Shared) {
    let mut batch: Vec<Job> = Vec::new();
    loop {
        {
            let mut q = s.lock();
            while q.jobs.is_empty() && !q.closed {
                q = s.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            if q.jobs.is_empty() {
                return;
            }
            let mut texts = 0;
            while let Some(j) = q.jobs.front() {
                if !batch.is_empty() && texts + j.texts.len() > s.max_batch_texts {
                    break;
                }
                texts += j.texts.len();
                batch.extend(q.jobs.pop_front());
            }
            q.texts -= texts;
            s.metrics.set_queued(q.texts);
            // More work left: wake another thread for it.
            if !q.jobs.is_empty() {
                s.ready.notify_one();
            }
        }
        s.metrics.batch(batch.iter().map(|j| j.texts.len()).sum());
        // Jobs with the same model and task are encoded by one call, in queue order.
        while !batch.is_empty() {
            let key = (batch[0].model, batch[0].task);
            let (group, rest): (Vec<Job>, Vec<Job>) =
                batch.drain(..).partition(|j| (j.model, j.task) == key);
            batch = rest;
            run_group(s, group);
        }
    }
}

/// Encodes one group of jobs and answers each.
fn run_group(s: &Shared, group: Vec<Job>) {
    let (model, task) = (group[0].model, group[0].task);
    let served = &s.models[model];
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let texts: Vec<&str> = group
            .iter()
            .flat_map(|j| j.texts.iter().map(String::as_str))
            .collect();
        compute(served, task, &texts)
    }));
    match result {
        Ok(Ok((data, width, tokens))) => {
            let mut at = 0;
            for job in group {
                let n = job.texts.len();
                let rows = Rows {
                    data: data[at * width..(at + n) * width].to_vec(),
                    width,
                    tokens: tokens[at..at + n].to_vec(),
                };
                at += n;
                let _ = job.reply.send(Ok(rows));
            }
        }
        Ok(Err(message)) => {
            for job in group {
                let _ = job.reply.send(Err(message.clone()));
            }
        }
        Err(_) => {
            for job in group {
                let _ = job
                    .reply
                    .send(Err("the encoder panicked on this batch".into()));
            }
        }
    }
}

/// The rows for `texts`: embeddings or head outputs, row-major, with their width and
/// each text's token count.
fn compute(
    served: &Served,
    task: Task,
    texts: &[&str],
) -> Result<(Vec<f32>, usize, Vec<u32>), String> {
    // One thread per call: the server's parallelism is its encoding threads.
    let base = EncodeOptions::new().threads(1);
    match task {
        Task::Embed {
            normalize,
            truncate,
        } => {
            let mut opts = base.normalize(normalize);
            if !truncate {
                opts = opts.max_length(None);
            }
            let (e, tokens) = served.model().encode_counting(texts, &opts);
            let width = e.dim();
            Ok((e.into_vec(), width, tokens))
        }
        Task::Predict { raw, truncate } => {
            let Some(p) = served.pipeline() else {
                return Err("this model is not a pipeline".into());
            };
            let mut opts = base;
            if !truncate {
                opts = opts.max_length(None);
            }
            let (e, tokens) = p.model().encode_counting(texts, &opts);
            let out = if raw {
                p.head().logits(&e)
            } else {
                p.head().proba(&e)
            };
            let width = out.dim();
            Ok((out.into_vec(), width, tokens))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelSpec;

    fn batcher(max_queue: usize) -> (Batcher, Arc<Metrics>) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../m2v-static/tests/fixtures/tiny/tiny_f32");
        let m = Served::load(&ModelSpec::new(None, dir)).unwrap();
        let metrics = Arc::new(Metrics::new(vec!["tiny".into()]));
        (
            Batcher::new(vec![m].into(), 4096, max_queue, metrics.clone()),
            metrics,
        )
    }

    fn job(texts: &[&str], normalize: bool) -> (Job, oneshot::Receiver<Result<Rows, String>>) {
        let (reply, rx) = oneshot::channel();
        let task = Task::Embed {
            normalize,
            truncate: true,
        };
        let texts = texts.iter().map(|s| s.to_string()).collect();
        (
            Job {
                model: 0,
                texts,
                task,
                reply,
            },
            rx,
        )
    }

    #[test]
    fn jobs_waiting_together_are_one_batch_and_keep_their_rows() {
        let (mut b, metrics) = batcher(100);
        let (j1, r1) = job(&["hello world", "the fox"], true);
        let (j2, r2) = job(&["hello"], false);
        let (j3, r3) = job(&["the lazy dog"], true);
        for j in [j1, j2, j3] {
            b.submit(j).unwrap();
        }
        // One thread, started after all three jobs are queued: it takes them at once.
        b.start(1).unwrap();
        let model = b.shared.models[0].model();
        let want = |t: &[&str], n: bool| {
            model
                .encode_with(t, &EncodeOptions::new().normalize(n))
                .into_vec()
        };
        let got1 = r1.blocking_recv().unwrap().unwrap();
        assert_eq!(got1.data, want(&["hello world", "the fox"], true));
        assert_eq!(
            got1.tokens,
            [
                model.tokenize("hello world", model.max_length()).len() as u32,
                model.tokenize("the fox", model.max_length()).len() as u32
            ]
        );
        assert_eq!(
            r2.blocking_recv().unwrap().unwrap().data,
            want(&["hello"], false)
        );
        assert_eq!(
            r3.blocking_recv().unwrap().unwrap().data,
            want(&["the lazy dog"], true)
        );
        let text = metrics.render();
        assert!(text.contains("m2v_batch_texts_count 1"), "{text}");
        assert!(text.contains("m2v_batch_texts_sum 4"), "{text}");
    }

    #[test]
    fn a_full_queue_refuses_and_a_closed_one_too() {
        let (b, _) = batcher(3);
        let (j1, _r1) = job(&["a", "b"], true);
        let (j2, _r2) = job(&["c", "d"], true);
        let (j3, _r3) = job(&["e"], true);
        b.submit(j1).unwrap();
        // 2 + 2 > 3 texts: refused, and nothing was queued for it.
        assert_eq!(b.submit(j2).unwrap_err(), Refused::Full);
        b.submit(j3).unwrap();
        b.close();
        let (j4, _r4) = job(&["f"], true);
        assert_eq!(b.submit(j4).unwrap_err(), Refused::Closed);
        // A job larger than the whole queue still goes in when the queue is empty.
        let (b, _) = batcher(1);
        let (big, _rb) = job(&["a", "b", "c"], true);
        b.submit(big).unwrap();
    }
}
