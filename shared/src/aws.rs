//! AWS SDK configuration, loaded once per container. Locally the only
//! difference is `AWS_ENDPOINT_URL` pointing at the stand-in.

pub use aws_config::SdkConfig;

pub async fn load() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

pub fn dynamodb(cfg: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(cfg)
}

pub fn sqs(cfg: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(cfg)
}

pub fn sesv2(cfg: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(cfg)
}

/// S3 needs path-style addressing when the endpoint is overridden (no
/// per-bucket DNS on loopback); on AWS virtual-hosted style is used.
pub fn s3(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(cfg.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
