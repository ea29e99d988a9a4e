use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lodge::telemetry::init();
    let state = mail_events::State::from_env(
        &lodge::Env::process(),
        &lodge::aws::load().await,
        lodge::clock::system(),
    )?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| async {
        mail_events::handler(&state, event.payload).await.map_err(Error::from)
    }))
    .await
}
