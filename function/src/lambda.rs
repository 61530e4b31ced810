//! Serving the router under the Lambda runtime API: the buffered or streaming runner (concurrent
//! where Lambda sends several requests at once), SnapStart hooks, and survival. One client must not
//! end the process: a response whose post to the runtime API fails (the client went away, the
//! runtime API refused it) fails that invocation only, and a runner that stops anyway is entered
//! again with a bounded back-off instead of exiting (on Lambda an exit turns a warm environment
//! into a cold start; under `cargo lambda watch` nothing restarts the function).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lambda_http::lambda_runtime::LambdaInvocation;
use lambda_http::tower::{Layer, Service};
use lambda_http::{BoxFuture, SnapStartResource};

use crate::pipeline::Pipeline;

/// First wait before entering a stopped runner again; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between two entries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A runner that served this long before it stopped starts the back-off afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(30);

/// Serves `app` on the runtime API until the process is stopped: streaming responses when
/// `streaming` (the function URL's `RESPONSE_STREAM`), whole ones otherwise. SnapStart hooks run
/// on the first entry only (the snapshot is taken once).
pub async fn serve(app: axum::Router, streaming: bool, pipeline: &'static Pipeline) {
    let mut hooks: Option<Arc<dyn SnapStartResource>> = Some(Arc::new(SnapshotHooks(pipeline)));
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        let first = hooks.take();
        let result = if streaming {
            let runtime = lambda_http::streaming_runtime_concurrent(app.clone()).layer(Survive);
            match first {
                Some(hooks) => {
                    runtime
                        .register_snapstart_resource(hooks)
                        .run_concurrent()
                        .await
                }
                None => runtime.run_concurrent().await,
            }
        } else {
            let runtime = lambda_http::runtime_concurrent(buffered(app.clone())).layer(Survive);
            match first {
                Some(hooks) => {
                    runtime
                        .register_snapstart_resource(hooks)
                        .run_concurrent()
                        .await
                }
                None => runtime.run_concurrent().await,
            }
        };
        if started.elapsed() >= HEALTHY_RUN {
            backoff = FIRST_BACKOFF;
        }
        match result {
            Ok(()) => tracing::warn!("the Lambda runtime loop ended; entering it again"),
            Err(error) => tracing::error!(
                %error,
                retry_in_ms = backoff.as_millis() as u64,
                "the Lambda runtime loop stopped; entering it again"
            ),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The router as the buffered concurrent runner takes it: its answers converted to lambda_http's
/// whole-body response (`Sync`, which axum's streaming body is not), as `lambda_http::run` does
/// for the sequential runner.
fn buffered(
    app: axum::Router,
) -> impl lambda_http::Service<
    lambda_http::Request,
    Response = lambda_http::Response<lambda_http::Body>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    use lambda_http::tower::ServiceExt as _;
    lambda_http::service_fn(move |request: lambda_http::Request| {
        let app = app.clone();
        async move {
            let Ok(response) = app.oneshot(request).await;
            Ok(lambda_http::IntoResponse::into_response(response).await)
        }
    })
}

/// The outermost layer of the runtime's service: an invocation whose answer could not be posted
/// to the runtime API (the connection broke, the API answered non-2xx because the client had
/// gone) is logged and counted as done, so the runner goes on to the next one instead of
/// returning the error and ending the process.
#[derive(Clone, Copy, Debug)]
struct Survive;

impl<S> Layer<S> for Survive {
    type Service = Surviving<S>;
    fn layer(&self, inner: S) -> Surviving<S> {
        Surviving(inner)
    }
}

#[derive(Clone, Debug)]
struct Surviving<S>(S);

impl<S> Service<LambdaInvocation> for Surviving<S>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_http::Error>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = lambda_http::Error;
    type Future = Pin<Box<dyn Future<Output = Result<(), lambda_http::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let request_id = invocation.context.request_id.clone();
        let answer = self.0.call(invocation);
        Box::pin(async move {
            if let Err(error) = answer.await {
                tracing::warn!(
                    %request_id,
                    %error,
                    "the answer could not be delivered to the Lambda runtime API (the client may have gone); serving the next request"
                );
            }
            Ok(())
        })
    }
}

/// Lambda SnapStart: the models warmed before the snapshot, renewed after each restore (see
/// [`Pipeline::before_snapshot`], [`Pipeline::after_restore`]). Never called without SnapStart.
struct SnapshotHooks(&'static Pipeline);

impl SnapStartResource for SnapshotHooks {
    fn before_snapshot(&self) -> BoxFuture<'_, Result<(), lambda_http::Error>> {
        let pipeline = self.0;
        Box::pin(async move {
            tokio::task::spawn_blocking(move || pipeline.before_snapshot())
                .await
                .map_err(|e| format!("warming up before the snapshot: {e}"))??;
            Ok(())
        })
    }

    fn after_restore(&self) -> BoxFuture<'_, Result<(), lambda_http::Error>> {
        let pipeline = self.0;
        Box::pin(async move {
            tokio::task::spawn_blocking(move || pipeline.after_restore())
                .await
                .map_err(|e| format!("renewing the models after the restore: {e}"))??;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::tower::{service_fn, ServiceExt as _};

    fn invocation() -> LambdaInvocation {
        LambdaInvocation {
            parts: axum::http::Response::new(()).into_parts().0,
            body: axum::body::Bytes::new(),
            context: lambda_http::Context::default(),
        }
    }

    #[tokio::test]
    async fn an_undeliverable_answer_fails_that_invocation_only() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let inner = service_fn(move |_: LambdaInvocation| {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n.is_multiple_of(2) {
                    Err::<(), lambda_http::Error>("client error (SendRequest)".into())
                } else {
                    Ok(())
                }
            }
        });
        let mut service = Survive.layer(inner);
        for _ in 0..4 {
            // The runner's `?` on this result is what used to end the process.
            let result = (&mut service).oneshot(invocation()).await;
            assert!(result.is_ok());
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 4);
    }
}
