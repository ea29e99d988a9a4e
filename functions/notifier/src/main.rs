use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lodge::telemetry::init();
    let state = notifier::State::from_env(&lodge::Env::process(), &lodge::aws::load().await)?;
    run(service_fn(|event: LambdaEvent<_>| async {
        Ok::<_, Error>(notifier::handler(&state, event.payload).await)
    }))
    .await
}
