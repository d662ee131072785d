//! The AWS adapter: SDK calls in, the console's own domain types out. One module per service;
//! the UI never sees SDK types. Every list is paginated to the end (CloudTrail lazily), per-item
//! calls run with bounded concurrency, the SDK retries throttled calls with adaptive backoff,
//! every call has a timeout, and errors come back as [`CloudError`].

pub mod backup;
pub mod cloudtrail;
pub mod error;
pub mod http;
pub mod kms;
pub mod limiter;
pub mod policy;
pub mod progressive;
pub mod sns;
pub mod sqs;
pub mod sqs_batch;
pub mod sts;

pub use error::CloudError;

use aws_types::SdkConfig;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;

/// The time source the adapter checks session expiry against (the system clock in the
/// console; the emulator's clock in tests).
pub type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_now() -> Now {
    Arc::new(Utc::now)
}

/// Per-item calls in flight at once (e.g. GetQueueAttributes for thousands of queues).
pub const DEFAULT_CONCURRENCY: usize = 16;

/// SDK clients for one session (profile + region), plus what every call needs.
#[derive(Clone)]
pub struct Cloud {
    pub(crate) sts: aws_sdk_sts::Client,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) sns: aws_sdk_sns::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) backup: aws_sdk_backup::Client,
    pub(crate) cloudtrail: aws_sdk_cloudtrail::Client,
    expires: Option<DateTime<Utc>>,
    now: Now,
    concurrency: usize,
    region: String,
    lookup_limiter: Arc<limiter::RateLimiter>,
}

impl std::fmt::Debug for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cloud")
            .field("region", &self.region)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl Cloud {
    /// Clients for `config`. `account` keys the shared CloudTrail rate limiter (one per account
    /// and region across every screen and session of this process).
    pub fn new(
        config: &SdkConfig,
        account: &str,
        expires: Option<DateTime<Utc>>,
        now: Now,
    ) -> Cloud {
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        Cloud {
            sts: aws_sdk_sts::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            backup: aws_sdk_backup::Client::new(config),
            cloudtrail: aws_sdk_cloudtrail::Client::new(config),
            expires,
            now,
            concurrency: DEFAULT_CONCURRENCY,
            lookup_limiter: limiter::lookup_events_limiter(account, &region),
            region,
        }
    }

    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How many per-item calls run at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The session's clock (the clock `Now` it was opened with).
    pub fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }

    /// Refuses to call AWS with credentials that are already dead.
    pub(crate) fn alive(&self) -> Result<(), CloudError> {
        match self.expires {
            Some(t) if (self.now)() >= t => Err(CloudError::expired()),
            _ => Ok(()),
        }
    }

    /// Runs `f` over `items` with at most `self.concurrency` calls in flight; results keep the
    /// order of `items`. The first error is returned (after the calls in flight finish).
    pub(crate) async fn bounded<I, T, F, Fut>(
        &self,
        items: Vec<I>,
        f: F,
    ) -> Result<Vec<T>, CloudError>
    where
        I: Send + 'static,
        T: Send + 'static,
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, CloudError>> + Send + 'static,
    {
        let sem = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let f = Arc::new(f);
        let mut set = tokio::task::JoinSet::new();
        let n = items.len();
        for (i, item) in items.into_iter().enumerate() {
            let sem = sem.clone();
            let f = f.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                (i, f(item).await)
            });
        }
        let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
        let mut first_err = None;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((i, Ok(v))) => out[i] = Some(v),
                Ok((_, Err(e))) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                        set.abort_all();
                    }
                }
                Err(j) if j.is_cancelled() => {}
                Err(j) => {
                    first_err.get_or_insert(CloudError::Service {
                        operation: "task".into(),
                        code: "Panic".into(),
                        message: j.to_string(),
                        request_id: None,
                    });
                }
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        Ok(out.into_iter().flatten().collect())
    }
}

/// SDK epoch timestamps → chrono.
pub(crate) fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|d| DateTime::from_timestamp(d.secs(), d.subsec_nanos()))
}
