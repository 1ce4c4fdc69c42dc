use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = invitations::state(&nexus_ports::Aws::from_env().await?).await?;
    let state = &state;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(invitations::handler(state, req).await)
    }))
    .await
}
