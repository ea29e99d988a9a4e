use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lodge::telemetry::init();
    let state = telegram_webhook::State::from_env(
        &lodge::Env::process(),
        &lodge::aws::load().await,
        lodge::clock::system(),
    )?;
    run(service_fn(|req| async {
        Ok::<_, Error>(telegram_webhook::handler(&state, req).await)
    }))
    .await
}
