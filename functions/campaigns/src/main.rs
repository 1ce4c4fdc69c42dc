use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let aws = nexus_ports::Aws::from_env().await?;
    let embedder = campaigns::embedder_from_env(aws.sdk())?;
    let state = campaigns::state(&aws, embedder).await?;
    let state = &state;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(campaigns::handler(state, req).await)
    }))
    .await
}
