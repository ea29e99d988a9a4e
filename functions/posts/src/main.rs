use lambda_http::{run, service_fn, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lodge::telemetry::init();
    let state = posts::State::from_env(
        &lodge::Env::process(),
        &lodge::aws::load().await,
        lodge::clock::system(),
    )?;
    run(service_fn(|req| async {
        Ok::<_, Error>(posts::handler(&state, req).await)
    }))
    .await
}
