use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lodge::telemetry::init();
    let state = digest_sender::State::from_env(
        &lodge::Env::process(),
        &lodge::aws::load().await,
        lodge::clock::system(),
    )?;
    run(service_fn(|event: LambdaEvent<_>| async {
        Ok::<_, Error>(digest_sender::handler(&state, event.payload).await)
    }))
    .await
}
