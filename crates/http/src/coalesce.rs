//! Concurrent reads of one kind answered together. A request hands its question to the
//! server's [`Coalesced`] and awaits its answer; a task on the blocking pool answers
//! every question waiting when it starts, in one call of the use case (one connection,
//! one round of statements), and keeps going while questions keep arriving. Only a few
//! such tasks (runners) run at once, shared by all the workers, so under load questions
//! gather while the previous round is in the database: the busier the server, the more
//! each round answers (up to [`ROUND`]), and an idle server answers a lone question at
//! once.
//!
//! Two kinds are answered so: the GETs of one event (`routes::events::EventReads`) and
//! the session checks of requests with a body (`auth::SessionChecks`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::error::ApiError;

/// The most questions one round answers (the rest wait for the next).
pub const ROUND: usize = 64;

/// What answers a round, with what it needs (`C`: the services): one answer per
/// question, in order.
pub type Answer<C, Q, A> = fn(&C, &[Q]) -> Vec<A>;

/// Questions of one kind, waiting to be answered together (app data shared by the
/// server's workers).
pub struct Coalesced<C, Q, A> {
    inner: Arc<Inner<C, Q, A>>,
}

struct Inner<C, Q, A> {
    answer: Answer<C, Q, A>,
    /// Rounds in flight at once, at most.
    runners: usize,
    waiting: Mutex<Waiting<Q, A>>,
}

struct Waiting<Q, A> {
    questions: Vec<(Q, oneshot::Sender<A>)>,
    /// Rounds in flight (tasks on the blocking pool).
    running: usize,
}

impl<C, Q, A> Coalesced<C, Q, A>
where
    C: Send + Sync + 'static,
    Q: Send + 'static,
    A: Send + 'static,
{
    /// Questions answered by `answer`, in at most `runners` rounds at once (at least one).
    pub fn new(answer: Answer<C, Q, A>, runners: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                answer,
                runners: runners.max(1),
                waiting: Mutex::new(Waiting {
                    questions: Vec::new(),
                    running: 0,
                }),
            }),
        }
    }

    /// `question`'s answer, from the next round. 500 if the round failed without
    /// answering (a panic).
    pub async fn ask(&self, context: &Arc<C>, question: Q) -> Result<A, ApiError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut waiting = self.inner.lock();
            waiting.questions.push((question, reply));
            let start = waiting.running < self.inner.runners;
            waiting.running += usize::from(start);
            start
        };
        if start {
            let (turn, context) = (Turn(Some(self.inner.clone())), context.clone());
            // The answers go through the channels; the handle is not needed.
            drop(tokio::task::spawn_blocking(move || turn.run(&context)));
        }
        answer
            .await
            .map_err(|_| ApiError::internal("a coalesced read failed without answering"))
    }
}

impl<C, Q, A> Inner<C, Q, A> {
    fn lock(&self) -> MutexGuard<'_, Waiting<Q, A>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One of the turns to run rounds, taken by the request that found a turn
/// free. Dropped before it ran (its task never started: the runtime is shutting down),
/// it gives the turn back; if no other turn is running, it also drops the questions
/// waiting, which then answer 500 rather than wait for a round that may never come.
struct Turn<C, Q, A>(Option<Arc<Inner<C, Q, A>>>);

impl<C, Q, A> Drop for Turn<C, Q, A> {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take() {
            let mut waiting = inner.lock();
            waiting.running -= 1;
            if waiting.running == 0 {
                waiting.questions.clear();
            }
        }
    }
}

impl<C, Q, A> Turn<C, Q, A> {
    /// Answers rounds until no question waits (on the blocking pool), then gives the
    /// turn back.
    fn run(mut self, context: &C) {
        let Some(inner) = self.0.take() else {
            return;
        };
        inner.answer_rounds(context);
    }
}

impl<C, Q, A> Inner<C, Q, A> {
    fn answer_rounds(&self, context: &C) {
        loop {
            let round: Vec<_> = {
                let mut waiting = self.lock();
                if waiting.questions.is_empty() {
                    waiting.running -= 1;
                    return;
                }
                let taken = waiting.questions.len().min(ROUND);
                waiting.questions.drain(..taken).collect()
            };
            let (questions, replies): (Vec<Q>, Vec<_>) = round.into_iter().unzip();
            // A panic drops the round's replies: each of its requests answers 500, and
            // the rounds go on.
            if let Ok(answers) =
                catch_unwind(AssertUnwindSafe(|| (self.answer)(context, &questions)))
            {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // The request is gone if nobody awaits it any more.
                    let _ = reply.send(answer);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::ResponseError;
    use futures_util::future::join_all;

    use super::*;

    /// Doubles each question, noting the size of each round; a round takes 20 ms, so
    /// that questions gather meanwhile.
    fn double(rounds: &Mutex<Vec<usize>>, questions: &[u32]) -> Vec<u32> {
        rounds.lock().unwrap().push(questions.len());
        std::thread::sleep(Duration::from_millis(20));
        questions.iter().map(|q| 2 * q).collect()
    }

    #[tokio::test]
    async fn concurrent_questions_share_rounds_and_each_gets_its_own_answer() {
        let coalesced = Coalesced::new(double, 1);
        let rounds = Arc::new(Mutex::new(Vec::new()));
        let answers = join_all((0..150).map(|q| coalesced.ask(&rounds, q))).await;
        for (q, answer) in (0..).zip(answers) {
            assert_eq!(answer.unwrap(), 2 * q);
        }
        let rounds = rounds.lock().unwrap().clone();
        assert_eq!(rounds.iter().sum::<usize>(), 150);
        // All 150 wait while the first round runs; the next rounds take at most ROUND.
        assert!(rounds.len() <= 1 + 150usize.div_ceil(ROUND), "{rounds:?}");
        assert!(rounds.iter().all(|&n| n <= ROUND), "{rounds:?}");
        // A lone question later is answered at once, alone.
        assert_eq!(
            coalesced
                .ask(&Arc::new(Mutex::new(Vec::new())), 4)
                .await
                .unwrap(),
            8
        );
    }

    #[tokio::test]
    async fn a_round_that_panics_answers_500_and_the_next_rounds_go_on() {
        fn fragile(_: &(), questions: &[u32]) -> Vec<u32> {
            assert!(!questions.contains(&0), "zero");
            questions.to_vec()
        }
        fn short(_: &(), _: &[u32]) -> Vec<u32> {
            Vec::new()
        }
        let coalesced = Coalesced::new(fragile, 1);
        let context = Arc::new(());
        let failed = coalesced.ask(&context, 0).await.unwrap_err();
        assert_eq!(
            failed.status_code(),
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(coalesced.ask(&context, 7).await.unwrap(), 7);
        // A round that answers too few leaves the rest 500, not waiting forever.
        let coalesced = Coalesced::new(short, 1);
        assert!(coalesced.ask(&context, 1).await.is_err());
    }

    #[tokio::test]
    async fn a_turn_whose_task_never_ran_is_given_back_and_its_questions_answer_500() {
        let coalesced: Coalesced<(), u32, u32> = Coalesced::new(|_, q| q.to_vec(), 2);
        let (reply, mut answer) = oneshot::channel();
        {
            let mut waiting = coalesced.inner.lock();
            waiting.questions.push((1, reply));
            // Two turns taken: the one dropped below and another still running.
            waiting.running += 2;
        }
        drop(Turn(Some(coalesced.inner.clone())));
        // The other turn will answer the question: it still waits.
        assert!(matches!(
            answer.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
        assert_eq!(coalesced.inner.lock().questions.len(), 1);
        // The last turn dropped unrun: nobody would answer it, so it answers 500.
        drop(Turn(Some(coalesced.inner.clone())));
        assert!(answer.await.is_err());
        assert_eq!(coalesced.inner.lock().running, 0);
        assert_eq!(coalesced.ask(&Arc::new(()), 5).await.unwrap(), 5);
    }
}
