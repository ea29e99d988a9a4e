//! AWS SDK configuration, loaded once per container. Locally the only
//! difference is `AWS_ENDPOINT_URL` pointing at the stand-in. Every client
//! counts its calls into the current request's log line (`telemetry::AwsCalls`).

pub use aws_config::SdkConfig;

use crate::telemetry::AwsCalls;

pub async fn load() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

pub fn dynamodb(cfg: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(cfg)
        .interceptor(AwsCalls)
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

pub fn sqs(cfg: &SdkConfig) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::config::Builder::from(cfg).interceptor(AwsCalls).build();
    aws_sdk_sqs::Client::from_conf(conf)
}

pub fn sesv2(cfg: &SdkConfig) -> aws_sdk_sesv2::Client {
    let conf = aws_sdk_sesv2::config::Builder::from(cfg).interceptor(AwsCalls).build();
    aws_sdk_sesv2::Client::from_conf(conf)
}

/// S3 needs path-style addressing when the endpoint is overridden (no
/// per-bucket DNS on loopback); on AWS virtual-hosted style is used.
pub fn s3(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(cfg.endpoint_url().is_some())
        .interceptor(AwsCalls)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
