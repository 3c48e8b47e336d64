//! Background jobs that never silently vanish: a job that panics or returns is logged and started again after
//! a pause; one that keeps failing stops the process (non-zero exit) so that a supervisor restarts the pool.

use std::future::Future;
use std::time::{Duration, Instant};

/// Pause before a restart.
const RESTART_PAUSE: Duration = Duration::from_secs(5);
/// More restarts than this within `WINDOW` stop the process.
const MAX_RESTARTS: usize = 5;
const WINDOW: Duration = Duration::from_secs(600);

/// Runs `job()` on the current runtime under supervision; `name` says which job in log lines.
pub fn spawn<F, Fut>(name: &'static str, job: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    spawn_with(name, RESTART_PAUSE, job);
}

fn spawn_with<F, Fut>(name: &'static str, pause: Duration, job: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut restarts: Vec<Instant> = Vec::new();
        loop {
            let outcome = tokio::spawn(job()).await;
            let why = match outcome {
                Ok(()) => "ended".to_string(),
                Err(e) if e.is_panic() => {
                    let panic = e.into_panic();
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    format!("panicked: {message}")
                }
                // Cancelled: the runtime is shutting down.
                Err(_) => return,
            };
            restarts.retain(|t| t.elapsed() < WINDOW);
            if restarts.len() >= MAX_RESTARTS {
                crate::shutdown::fail(format!(
                    "background job {name} {why}, after {MAX_RESTARTS} restarts in {} minutes",
                    WINDOW.as_secs() / 60
                ));
                return;
            }
            restarts.push(Instant::now());
            tracing::error!(
                "background job {name} {why}; restarting it in {} s",
                pause.as_secs()
            );
            tokio::time::sleep(pause).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_panicking_job_is_restarted_then_stops_the_process() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let supervisor = spawn_with("test job", Duration::from_millis(1), move || {
            let counter = Arc::clone(&counter);
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) < 100 {
                    panic!("boom");
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), supervisor)
            .await
            .expect("the supervisor gives up")
            .expect("no panic escapes");
        assert_eq!(runs.load(Ordering::SeqCst), MAX_RESTARTS + 1);
        let failure = crate::shutdown::failure().expect("the process is told to stop");
        assert!(failure.contains("test job panicked: boom"), "{failure}");
    }
}
