//! Reads shared by callers that ask at once, so that a hundred callers cost one round
//! trip, not a hundred:
//!
//! * `Coalesced`: the same question (`/health` under load). A caller takes the answer
//!   of a read that began after it asked, or at most `max_age` before, else makes one
//!   of its own.
//! * `Batched`: a question each (is this delivery key settled?). The questions asked
//!   while one batch is under way, or in the same turn of the scheduler, are answered
//!   together by the next, so none waits longer than for one batch before its own,
//!   and an idle caller only for that turn.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

pub struct Coalesced<T> {
    /// How long before a question a read may have begun and still answer it.
    max_age: Duration,
    /// The number of reads begun so far.
    begun: AtomicU64,
    /// One read at a time, and the last one's number, start and answer.
    last: tokio::sync::Mutex<Option<Read<T>>>,
}

struct Read<T> {
    number: u64,
    began: Instant,
    answer: T,
}

impl<T> Coalesced<T> {
    /// Answers from reads begun at most `max_age` before the question (or after it);
    /// with `Duration::ZERO`, never older than the question.
    pub fn within(max_age: Duration) -> Self {
        Coalesced {
            max_age,
            begun: AtomicU64::new(0),
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// Drops the last answer: the thing read has just changed here.
    pub async fn forget(&self) {
        *self.last.lock().await = None;
    }
}

impl<T: Clone> Coalesced<T> {
    /// The answer of a `read` begun after this call or at most `max_age` before it:
    /// another caller's, or this one's.
    pub async fn get<F: Future<Output = T>>(&self, read: impl FnOnce() -> F) -> T {
        let asked = self.begun.load(Ordering::SeqCst);
        let asked_at = Instant::now();
        let mut last = self.last.lock().await;
        if let Some(done) = last.as_ref() {
            let young = !self.max_age.is_zero() && asked_at.saturating_duration_since(done.began) <= self.max_age;
            if done.number > asked || young {
                return done.answer.clone();
            }
        }
        let number = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
        let began = Instant::now();
        let answer = read().await;
        *last = Some(Read {
            number,
            began,
            answer: answer.clone(),
        });
        answer
    }
}

/// Questions of type `K` answered a batch at a time by a task of its own.
pub struct Batched<K, V> {
    asking: mpsc::Sender<(K, oneshot::Sender<V>)>,
}

impl<K: Send + 'static, V: Send + 'static> Batched<K, V> {
    /// Starts the task: `answer` gets up to `most` questions at once and returns their
    /// answers in the same order. The task ends when the `Batched` is dropped.
    pub fn start<F, Fut>(most: usize, mut answer: F) -> Batched<K, V>
    where
        F: FnMut(Vec<K>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<V>> + Send,
    {
        let (asking, mut asked) = mpsc::channel::<(K, oneshot::Sender<V>)>(most * 16);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(most);
            while asked.recv_many(&mut batch, most).await > 0 {
                // Callers the runtime is about to poll ask in the same breath (a flood's
                // requests, parsed one after another): one turn of the scheduler lets
                // them join this batch, at the cost of a few µs for a lone caller.
                tokio::task::yield_now().await;
                while batch.len() < most {
                    match asked.try_recv() {
                        Ok(question) => batch.push(question),
                        Err(_) => break,
                    }
                }
                let (questions, callers): (Vec<K>, Vec<oneshot::Sender<V>>) = batch.drain(..).unzip();
                for (caller, answer) in callers.into_iter().zip(answer(questions).await) {
                    let _ = caller.send(answer);
                }
            }
        });
        Batched { asking }
    }

    /// The answer to `question`; `None` when the task has ended (or gave no answer).
    pub async fn ask(&self, question: K) -> Option<V> {
        let (caller, answered) = oneshot::channel();
        self.asking.send((question, caller)).await.ok()?;
        answered.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn callers_at_once_share_reads_and_none_gets_an_answer_older_than_its_question() {
        let shared = Arc::new(Coalesced::<usize>::within(Duration::ZERO));
        let reads = Arc::new(AtomicUsize::new(0));
        let read = |reads: Arc<AtomicUsize>| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            reads.fetch_add(1, Ordering::SeqCst) + 1
        };
        let callers: Vec<_> = (0..100)
            .map(|_| {
                let (shared, reads) = (Arc::clone(&shared), Arc::clone(&reads));
                tokio::spawn(async move {
                    let before = reads.load(Ordering::SeqCst);
                    let answer = shared.get(|| read(Arc::clone(&reads))).await;
                    (before, answer)
                })
            })
            .collect();
        for caller in callers {
            let (before, answer) = caller.await.unwrap();
            assert!(answer > before, "read {answer} had finished before the question");
        }
        let made = reads.load(Ordering::SeqCst);
        assert!((1..=2).contains(&made), "{made} reads for 100 callers at once");
        // A later caller never takes an answer from before it asked.
        let later = shared.get(|| read(Arc::clone(&reads))).await;
        assert_eq!(later, made + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_within_its_age_is_shared_and_an_older_or_forgotten_one_is_read_again() {
        let shared = Coalesced::<u32>::within(Duration::from_secs(1));
        let reads = AtomicUsize::new(0);
        let read = || async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            reads.fetch_add(1, Ordering::SeqCst) as u32 + 1
        };
        assert_eq!(shared.get(read).await, 1);
        tokio::time::advance(Duration::from_millis(900)).await;
        assert_eq!(shared.get(read).await, 1, "begun 910 ms before: young enough");
        tokio::time::advance(Duration::from_millis(200)).await;
        assert_eq!(shared.get(read).await, 2, "begun 1.11 s before: read again");
        shared.forget().await;
        assert_eq!(shared.get(read).await, 3, "forgotten: read again");
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn questions_asked_at_once_are_answered_in_few_batches_each_its_own_answer() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&batches);
        let doubling = Batched::start(64, move |questions: Vec<u64>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                questions.into_iter().map(|q| q * 2).collect()
            }
        });
        let answers = futures_util::future::join_all((0..200).map(|q| doubling.ask(q))).await;
        let expected: Vec<Option<u64>> = (0..200).map(|q| Some(q * 2)).collect();
        assert_eq!(answers, expected);
        let made = batches.load(Ordering::SeqCst);
        assert!(
            (4..=8).contains(&made),
            "{made} batches for 200 questions, 64 at most each"
        );
        assert_eq!(doubling.ask(21).await, Some(42), "a lone question is answered at once");
    }

    /// Tokio runs a task woken by another next (its LIFO slot): without a turn of the
    /// scheduler, the batch would start with the first caller alone every time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn callers_ready_in_the_same_turn_share_one_batch() {
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = Arc::clone(&sizes);
        let echo = Arc::new(Batched::start(64, move |questions: Vec<u64>| {
            recorded.lock().unwrap().push(questions.len());
            async move { questions }
        }));
        let callers: Vec<_> = (0..40)
            .map(|q| {
                let echo = Arc::clone(&echo);
                tokio::spawn(async move { echo.ask(q).await })
            })
            .collect();
        for (q, caller) in callers.into_iter().enumerate() {
            assert_eq!(caller.await.unwrap(), Some(q as u64));
        }
        let sizes = sizes.lock().unwrap().clone();
        assert!(sizes.len() <= 3, "40 callers ready at once, batches of {sizes:?}");
    }
}
