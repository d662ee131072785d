//! Lists that appear as they load: the list call gives the names at once, and each item's
//! details (its own calls) follow with bounded concurrency, **the rows on screen first**. The
//! console moves ids to the front of the queue as they scroll into view ([`Priority`]), and
//! receives finished items in small batches, so a list of 2,000 queues shows its names after
//! one round trip and fills in from the top of the screen.

use super::CloudError;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// One finished item: its id, and its details or why they could not be read.
pub type Fetched<T> = (String, Result<T, CloudError>);

/// Boxed future of one item's details.
pub type DetailFuture<T> = Pin<Box<dyn Future<Output = Result<T, CloudError>> + Send>>;

/// Sends ids to the front of a running fetch (the rows now on screen).
#[derive(Debug, Clone)]
pub struct Priority(UnboundedSender<Vec<String>>);

impl Priority {
    /// A handle and the receiver that [`fetch`] takes.
    pub fn channel() -> (Priority, UnboundedReceiver<Vec<String>>) {
        let (tx, rx) = unbounded_channel();
        (Priority(tx), rx)
    }
    /// Moves these ids to the front (the first one first). Ignored once the fetch ended.
    pub fn bump(&self, ids: Vec<String>) {
        let _ = self.0.send(ids);
    }
}

/// The most ids remembered as asked for before their page arrived.
const MAX_WANTED: usize = 10_000;

/// How often finished items are handed over (at most), so a large list fills in with a few
/// dozen redraws, not one per item.
pub const BATCH_EVERY: Duration = Duration::from_millis(25);

/// Fetches every id's details with at most `concurrency` calls in flight, in queue order,
/// moving ids received on `priority` to the front; ids received on `more` (the list call's
/// later pages) join the back. Hands finished items to `emit` in batches (at least every
/// [`BATCH_EVERY`] while items finish, and once at the end). Ends when every id is fetched and
/// `more` is closed, or early when `emit` returns `false` (nobody wants the rest).
pub async fn fetch<T, F>(
    ids: Vec<String>,
    concurrency: usize,
    detail: F,
    mut priority: UnboundedReceiver<Vec<String>>,
    more: Option<UnboundedReceiver<Vec<String>>>,
    mut emit: impl FnMut(Vec<Fetched<T>>) -> bool,
) where
    T: Send + 'static,
    F: Fn(String) -> DetailFuture<T> + Send + Sync + 'static,
{
    let detail = Arc::new(detail);
    let mut known: HashSet<String> = ids.iter().cloned().collect();
    let mut queue: VecDeque<String> = ids.into_iter().collect();
    let mut more_open = more.is_some();
    // Ids asked for before the page that lists them arrived.
    let mut wanted: HashSet<String> = HashSet::new();
    let (_never_tx, never_rx) = unbounded_channel();
    let mut more = more.unwrap_or(never_rx);
    let mut started: HashSet<String> = HashSet::new();
    let mut set = tokio::task::JoinSet::new();
    let mut batch: Vec<Fetched<T>> = Vec::new();
    let mut last_emit = tokio::time::Instant::now();
    let mut priority_open = true;
    loop {
        while set.len() < concurrency.max(1) {
            let Some(id) = queue.pop_front() else { break };
            if !started.insert(id.clone()) {
                continue;
            }
            let f = detail.clone();
            set.spawn(async move {
                let r = f(id.clone()).await;
                (id, r)
            });
        }
        if set.is_empty() && !more_open {
            break;
        }
        let flush_at = last_emit + BATCH_EVERY;
        tokio::select! {
            joined = set.join_next(), if !set.is_empty() => match joined {
                Some(Ok(done)) => batch.push(done),
                Some(Err(e)) if e.is_cancelled() => {}
                Some(Err(e)) => tracing::error!("a detail task failed: {e}"),
                None => {}
            },
            ids = more.recv(), if more_open => match ids {
                Some(ids) => {
                    for id in ids {
                        if known.insert(id.clone()) {
                            // Asked for before its page arrived: it goes first.
                            if wanted.remove(&id) {
                                queue.push_front(id);
                            } else {
                                queue.push_back(id);
                            }
                        }
                    }
                }
                None => more_open = false,
            },
            ids = priority.recv(), if priority_open => match ids {
                Some(ids) => {
                    for id in ids.into_iter().rev() {
                        if known.contains(&id) {
                            if !started.contains(&id) {
                                queue.push_front(id);
                            }
                        } else if more_open && wanted.len() < MAX_WANTED {
                            wanted.insert(id);
                        }
                    }
                }
                None => priority_open = false,
            },
            _ = tokio::time::sleep_until(flush_at), if !batch.is_empty() => {}
        }
        if !batch.is_empty() && tokio::time::Instant::now() >= flush_at {
            if !emit(std::mem::take(&mut batch)) {
                set.abort_all();
                return;
            }
            last_emit = tokio::time::Instant::now();
        }
    }
    if !batch.is_empty() {
        emit(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("q{i:03}")).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn every_item_arrives_once_in_batches_with_bounded_concurrency() {
        let in_flight = Arc::new(Mutex::new((0usize, 0usize)));
        let f = in_flight.clone();
        let (_p, rx) = Priority::channel();
        let mut got: Vec<String> = Vec::new();
        let mut batches = 0;
        fetch(
            ids(100),
            8,
            move |id: String| -> DetailFuture<String> {
                let f = f.clone();
                Box::pin(async move {
                    {
                        let mut g = f.lock().unwrap();
                        g.0 += 1;
                        g.1 = g.1.max(g.0);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    f.lock().unwrap().0 -= 1;
                    Ok(id.to_uppercase())
                })
            },
            rx,
            None,
            |b| {
                batches += 1;
                got.extend(b.into_iter().map(|(id, r)| {
                    assert_eq!(r.unwrap(), id.to_uppercase());
                    id
                }));
                true
            },
        )
        .await;
        got.sort();
        assert_eq!(got, ids(100));
        assert_eq!(in_flight.lock().unwrap().1, 8, "at most 8 calls at once");
        assert!((5..100).contains(&batches), "{batches} batches");
    }

    #[tokio::test(start_paused = true)]
    async fn bumped_ids_go_next() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        let (p, rx) = Priority::channel();
        // Asked for before the fetch starts: the first calls are these.
        p.bump(vec!["q090".into(), "q091".into(), "nope".into()]);
        fetch(
            ids(100),
            2,
            move |id: String| -> DetailFuture<()> {
                let o = o.clone();
                Box::pin(async move {
                    o.lock().unwrap().push(id);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Ok(())
                })
            },
            rx,
            None,
            |_| true,
        )
        .await;
        let order = order.lock().unwrap();
        assert_eq!(order.len(), 100, "each once; unknown ids ignored");
        let pos = |id: &str| order.iter().position(|x| x == id).unwrap();
        assert!(pos("q090") < 4 && pos("q091") < 4, "{:?}", &order[..6]);
    }

    #[tokio::test(start_paused = true)]
    async fn later_pages_join_the_back_and_the_fetch_waits_for_them() {
        let (_p, rx) = Priority::channel();
        let (more_tx, more_rx) = unbounded_channel();
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        tokio::spawn(async move {
            for page in 0..3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let ids: Vec<String> = (0..10).map(|i| format!("p{page}-{i}")).collect();
                let _ = more_tx.send(ids);
            }
            // The sender drops here: the listing is complete.
        });
        fetch(
            Vec::new(),
            4,
            move |id: String| -> DetailFuture<()> {
                let o = o.clone();
                Box::pin(async move {
                    o.lock().unwrap().push(id);
                    Ok(())
                })
            },
            rx,
            Some(more_rx),
            |_| true,
        )
        .await;
        let order = order.lock().unwrap();
        assert_eq!(order.len(), 30);
        assert!(order[0].starts_with("p0-") && order[29].starts_with("p2-"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_item_is_reported_and_the_rest_go_on_and_emit_false_stops() {
        let (_p, rx) = Priority::channel();
        let mut errors = 0;
        let mut ok = 0;
        fetch(
            ids(10),
            3,
            |id: String| -> DetailFuture<()> {
                Box::pin(async move {
                    if id == "q004" {
                        Err(CloudError::Network {
                            operation: "GetQueueAttributes".into(),
                            message: "reset".into(),
                        })
                    } else {
                        Ok(())
                    }
                })
            },
            rx,
            None,
            |b| {
                for (_, r) in b {
                    if r.is_err() { errors += 1 } else { ok += 1 }
                }
                true
            },
        )
        .await;
        assert_eq!((ok, errors), (9, 1));
        let (_p, rx) = Priority::channel();
        let mut seen = 0;
        fetch(
            ids(1000),
            4,
            |_id: String| -> DetailFuture<()> {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Ok(())
                })
            },
            rx,
            None,
            |b| {
                seen += b.len();
                false
            },
        )
        .await;
        assert!(seen < 1000, "stopped early after {seen}");
    }
}
