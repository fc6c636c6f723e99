//! Who is calling: the account a request's credentials belong to, as the local cloud tells
//! accounts apart. An access key id of 12 digits is the account id (as LocalStack does:
//! docs.localstack.cloud/references/credentials, "Accounts IDs"); the keys of a role assumed
//! through the front belong to the role's account (as on AWS, and as moto attributes the
//! keys its STS hands out); any other key is [`DEFAULT_ACCOUNT`].
use axum::http::HeaderMap;

use super::{Answer, Call, Front, access_key};
use crate::endpoints::DEFAULT_ACCOUNT;

impl Front {
    /// The account the request's credentials belong to.
    pub(super) async fn account_of(&self, headers: &HeaderMap) -> String {
        let key = access_key(headers);
        if is_account_id(key) {
            return key.to_owned();
        }
        let books = self.books.lock().await;
        books
            .assumed
            .get(key)
            .cloned()
            .unwrap_or_else(|| DEFAULT_ACCOUNT.to_owned())
    }

    /// STS AssumeRole (or AssumeRoleWithWebIdentity, GitHub's OIDC): moto's answer, and its
    /// access key remembered as the role's account's (the role ARN names it), so every later
    /// call signed with it is that account's.
    pub(super) async fn assume_role(&self, call: &Call) -> Answer {
        let answer = self.forward(call).await;
        let account = call
            .form("RoleArn")
            .and_then(|arn| arn.split(':').nth(4).map(str::to_owned))
            .filter(|account| is_account_id(account));
        let text = String::from_utf8_lossy(&answer.body);
        let key = text
            .split_once("<AccessKeyId>")
            .and_then(|(_, rest)| rest.split_once("</AccessKeyId>"))
            .map(|(key, _)| key.trim().to_owned());
        if let (Some(account), Some(key), true) = (account, key, answer.status.is_success()) {
            let mut books = self.books.lock().await;
            books.assumed.insert(key, account);
            self.save(&books).await;
        }
        answer
    }
}

/// STS's AssumeRole, or AssumeRoleWithWebIdentity (GitHub's OIDC), which is not signed: the
/// OIDC token is its credential
/// (<https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html>).
pub(super) fn assumes_role(call: &Call) -> bool {
    match call.form("Action").as_deref() {
        Some("AssumeRole") => call.service == "sts",
        Some("AssumeRoleWithWebIdentity") => matches!(call.service.as_str(), "sts" | ""),
        _ => false,
    }
}

fn is_account_id(key: &str) -> bool {
    key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit())
}
