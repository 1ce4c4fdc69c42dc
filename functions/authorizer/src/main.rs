use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use nexus_auth::KeySource;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secret =
        std::env::var("JWT_KEY_SECRET_ARN").map_err(|_| "JWT_KEY_SECRET_ARN is required")?;
    let keys =
        nexus_auth::SecretsManagerKeys::new(aws_sdk_secretsmanager::Client::new(&sdk), secret)
            .load()
            .await?;
    let issuer = std::env::var("JWT_ISSUER").map_err(|_| "JWT_ISSUER is required")?;
    let config = nexus_ports::Config::from_env()?;
    let state = authorizer::State::new(
        keys,
        issuer,
        nexus_ports::Platform::from_sdk(config, &sdk, None),
    );
    let state = &state;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        authorizer::handler(state, event).await
    }))
    .await
}
