use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lodge::telemetry::init();
    let state = forward_rules::State::from_env(
        &lodge::Env::process(),
        &lodge::aws::load().await,
        lodge::clock::system(),
    )?;
    run(service_fn(|req| async {
        Ok::<_, Error>(forward_rules::handler(&state, req).await)
    }))
    .await
}
