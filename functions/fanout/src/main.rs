use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lodge::telemetry::init();
    let state = fanout::State::from_env(
        &lodge::Env::process(),
        &lodge::aws::load().await,
        lodge::clock::system(),
    )?;
    run(service_fn(|event: LambdaEvent<_>| async {
        Ok::<_, Error>(fanout::handler(&state, event.payload).await)
    }))
    .await
}
