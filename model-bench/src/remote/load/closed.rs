//! The closed loop: N workers, each with its own session, each sending its next request when the
//! last one is answered (a conversation's next turn after its think time); the number in flight
//! follows the plan's concurrency steps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::intervals::IntervalWriter;
use super::plan::LoadPlan;
use super::recorder::{Recorded, Recorders};
use super::streams::ConversationTracker;
use crate::remote::client::Client;

/// Takes one from a shared budget of measured requests; `false` once it is spent.
fn take(budget: &Option<Arc<AtomicU64>>) -> bool {
    match budget {
        Some(left) => left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok(),
        None => true,
    }
}

pub(super) async fn closed_loop(
    client: Arc<Client>,
    plan: &LoadPlan,
    concurrency: usize,
    log: Option<&IntervalWriter>,
) -> Recorded {
    let start = Instant::now();
    let window_start = start + plan.warm_up;
    let end = window_start + plan.duration;
    // A scale-out worker keeps its part of every level and of the budget (parts sum exactly to
    // the whole over the workers; a part may be zero).
    let part = |n: usize| plan.worker.map_or(n, |worker| worker.concurrency(n));
    // The budget in proportion to the peak level's parts, so a worker that a later, higher
    // level wakes has requests left to send.
    let peak = plan
        .concurrency_steps
        .iter()
        .map(|step| step.concurrency.max(1))
        .fold(concurrency, usize::max);
    let budget = plan
        .max_requests
        .map(|n| plan.worker.map_or(n, |worker| worker.budget(n, peak)))
        .map(|n| Arc::new(AtomicU64::new(n)));
    // One shard per runtime thread, not per worker: memory stays the same at any concurrency,
    // and a worker's thread records into its own shard.
    let recorders = Arc::new(Recorders::for_run(plan, &client, window_start, log));
    let stop = recorders.stop_signal();
    let progress = super::recorder::progress_line(&recorders, plan.warm_up, plan.duration);
    // The levels over time: the plan's own from the start, then each step from its offset
    // into the window. Worker `i` sends while more than `i` are wanted, else waits for a level
    // that wants it.
    let levels: Arc<Vec<(Instant, usize)>> = Arc::new(
        std::iter::once((start, part(concurrency)))
            .chain(
                plan.concurrency_steps
                    .iter()
                    .map(|step| (window_start + step.from, part(step.concurrency.max(1)))),
            )
            .collect(),
    );
    let own = part(concurrency);
    let most = levels.iter().map(|&(_, n)| n).max().unwrap_or(own);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..most {
        let client = Arc::clone(&client);
        let budget = budget.clone();
        let recorders = Arc::clone(&recorders);
        let stop = Arc::clone(&stop);
        let levels = Arc::clone(&levels);
        workers.spawn(async move {
            let mut session = client.session();
            let mut conversation = client
                .holds_conversations()
                .then(ConversationTracker::default);
            let slo = client.stream_slo();
            // A conversation's next turn: due its think time after the last reply (or at its
            // time in a trace, from when the conversation's first turn was due).
            let mut due: Option<Instant> = None;
            let mut first_due = Instant::now();
            loop {
                if let Some(at) = due {
                    if at >= end || stop.load(Ordering::Acquire) {
                        break;
                    }
                    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                }
                let sent = Instant::now();
                if sent >= end || stop.load(Ordering::Acquire) {
                    break;
                }
                let wanted = levels
                    .iter()
                    .rev()
                    .find(|(from, _)| *from <= sent)
                    .map_or(own, |&(_, n)| n);
                if worker >= wanted {
                    let wake = levels
                        .iter()
                        .find(|&&(from, n)| from > sent && n > worker)
                        .map_or(end, |&(from, _)| from);
                    tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await;
                    continue;
                }
                if sent >= window_start && !take(&budget) {
                    break;
                }
                let intended = match due.take() {
                    Some(due) => due,
                    None => {
                        first_due = sent;
                        sent
                    }
                };
                let outcome = client.send_in(&mut session).await;
                let done = Instant::now();
                let pause = session.take_pause();
                let times = (intended, sent, done);
                if let Some(conversation) = &mut conversation {
                    if let Some((start, ended)) =
                        conversation.turn(&slo, times, &outcome, pause.is_some())
                    {
                        recorders.record_session(start, &ended);
                    }
                }
                recorders.record(session.member(), times, outcome);
                due = pause.map(|pause| pause.at(done, first_due));
                if due.is_some() {
                    client.prepare_turn(&mut session);
                }
            }
        });
    }
    if most == 0 {
        // A scale-out worker whose share of every level is empty still spends the run's time,
        // so it reaches the next point when the others do.
        tokio::time::sleep_until(tokio::time::Instant::from_std(end)).await;
    }
    while let Some(joined) = workers.join_next().await {
        if let Err(error) = joined {
            recorders.record_error(crate::remote::error::RequestError::new(
                crate::remote::error::ErrorClass::Io,
                format!("a load worker stopped: {error}"),
            ));
        }
    }
    drop(progress);
    recorders.finish(0)
}
