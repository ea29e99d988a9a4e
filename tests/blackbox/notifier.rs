//! The notifier delivers per recipient: one address SES rejects for good
//! stops nobody else (nor the admin-chat post), and a transient failure
//! retries only the deliveries still missing.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lodge::domain::Member;
use lodge::domain::{Email, MemberStatus, Role};
use lodge::queue::{encode, Notification};
use lodge::Clock;
use lodge_local::functions::{self, Invoker, SqsFn};
use lodge_tests::{unique, TestApp};
use serde_json::{json, Value};

use crate::aws_faults::{AwsFaults, Fault};

/// The local template's TelegramAdminChatId.
const ADMIN_CHAT: i64 = -1001000000001;

struct Setup {
    app: TestApp,
    faults: AwsFaults,
    notifier: SqsFn,
    /// (moderator who gets mail, moderator `faults` targets).
    good: String,
    bad: String,
    newcomer: Member,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let store = app.store();
    let now = app.clock.now();
    let staff = |label: &str| Email::parse(&format!("{}@example.org", unique(label))).unwrap();
    let (good, bad) = (staff("mod"), staff("bad"));
    for email in [&good, &bad] {
        let m = Member::new(email.clone(), Role::Member, MemberStatus::Approved, now);
        store.members().create(&m).await.unwrap();
        store.members().set_role(&m, Role::Moderator).await.unwrap();
    }
    let newcomer = Member::new(staff("new"), Role::Member, MemberStatus::OnReview, now);
    store.members().create(&newcomer).await.unwrap();
    // The notifier as Lambda runs it, its AWS calls through the fault proxy.
    let faults = AwsFaults::start(&app.stack.moto_url).await;
    let env = lodge::Env::from_map(app.stack.envs["NotifierFunction"].clone().into_iter().collect());
    let Invoker::Sqs(notifier) =
        functions::build("notifier", &env, &faults.sdk_config().await, app.clock.clone()).unwrap()
    else {
        panic!("the notifier is an SQS function");
    };
    Setup {
        app,
        faults,
        notifier,
        good: good.to_string(),
        bad: bad.to_string(),
        newcomer,
    }
}

/// Delivers the "intro submitted" message once (the same message id each
/// time: a redelivery); returns the ids reported failed.
async fn deliver(s: &Setup, at: i64) -> Vec<String> {
    let body = encode(&Notification::IntroSubmitted {
        member_id: s.newcomer.id.clone(),
        at,
    });
    let event: SqsEvent = serde_json::from_value(json!({"Records": [{
        "messageId": "intro-1", "receiptHandle": "r-1", "body": body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify", "awsRegion": "us-east-1"
    }]}))
    .unwrap();
    let out: SqsBatchResponse = (s.notifier)(event).await;
    out.batch_item_failures.into_iter().map(|f| f.item_identifier).collect()
}

async fn intro_mails(s: &Setup, to: &str) -> usize {
    s.app
        .mails_to(to)
        .await
        .iter()
        .filter(|m| m.subject.starts_with("New intro to review"))
        .count()
}

async fn admin_chat_posts(s: &Setup) -> usize {
    let calls: Vec<Value> = s
        .app
        .get("/_local/telegram")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    calls
        .iter()
        .filter(|c| c["method"] == "sendMessage" && c["params"]["chat_id"] == ADMIN_CHAT)
        .count()
}

/// Intro emails to (the admin, the good moderator, the bad one), and admin-chat posts.
async fn delivered(s: &Setup) -> (usize, usize, usize, usize) {
    (
        intro_mails(s, &s.app.admin).await,
        intro_mails(s, &s.good).await,
        intro_mails(s, &s.bad).await,
        admin_chat_posts(s).await,
    )
}

#[tokio::test]
async fn a_rejected_recipient_does_not_stop_the_others_or_the_admin_chat_post() {
    let s = setup().await;
    s.faults.fail(&s.bad, Fault::Reject);
    let at = s.app.clock.now();
    assert_eq!(
        deliver(&s, at).await,
        Vec::<String>::new(),
        "a rejection is final: not retried"
    );
    assert_eq!(delivered(&s).await, (1, 1, 0, 1));
    // A redelivery (SQS delivers at least once) sends nothing again.
    assert!(deliver(&s, at).await.is_empty());
    assert_eq!(delivered(&s).await, (1, 1, 0, 1));
}

#[tokio::test]
async fn a_transient_failure_retries_only_the_missing_delivery() {
    let s = setup().await;
    s.faults.fail(&s.bad, Fault::Throttle);
    let at = s.app.clock.now();
    assert_eq!(deliver(&s, at).await, ["intro-1"], "a throttled send is retried");
    // Everything else went out on the first attempt.
    assert_eq!(delivered(&s).await, (1, 1, 0, 1));
    // SES takes it again; the redelivery sends only the missing one.
    s.faults.clear(&s.bad);
    assert!(deliver(&s, at).await.is_empty());
    assert_eq!(delivered(&s).await, (1, 1, 1, 1));
}
