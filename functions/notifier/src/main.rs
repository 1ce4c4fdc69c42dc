use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let state = notifier::state(&nexus_ports::Aws::from_env().await?).await?;
    let state = &state;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        notifier::handler(state, event).await
    }))
    .await
}
