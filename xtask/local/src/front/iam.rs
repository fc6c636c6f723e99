//! IAM as Lambda sees it: when each role was created (Lambda cannot assume a role at first), and
//! CreateRole's answer as IAM gives it.
use axum::body::Bytes;

use super::{Answer, Call, Front, state};

impl Front {
    /// IAM: remembers when each role was created (Lambda cannot assume it at first).
    pub(super) async fn iam(&self, call: Call) -> Answer {
        let action = call.form("Action");
        let role = call.form("RoleName");
        let mut answer = self.forward(&call).await;
        if let (Some(action), Some(role), true) = (action, role, answer.status.is_success()) {
            let mut books = self.books.lock().await;
            match action.as_str() {
                "CreateRole" => {
                    let key = state::role_key(&call.account, &role);
                    books.roles.insert(key, state::now_ms());
                    answer.body = created_role(&answer.body);
                }
                "DeleteRole" => {
                    books.roles.remove(&state::role_key(&call.account, &role));
                }
                _ => return answer,
            }
            self.save(&books).await;
        }
        answer
    }
}

/// CreateRole's answer names no `MaxSessionDuration` (GetRole's does), as recorded:
/// LocalStack's AWS-validated test_create_describe_role, create_role_result; moto's names it.
fn created_role(body: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(body);
    let (open, close) = ("<MaxSessionDuration>", "</MaxSessionDuration>");
    match (text.find(open), text.find(close)) {
        (Some(start), Some(end)) if start < end => {
            Bytes::from(format!("{}{}", &text[..start], &text[end + close.len()..]))
        }
        _ => Bytes::copy_from_slice(body),
    }
}
