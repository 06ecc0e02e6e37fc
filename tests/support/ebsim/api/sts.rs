//! STS `GetCallerIdentity`, served by the emulator so that stevedore's account check runs
//! against the rig: the account is the emulator's, the ARN names the access key's user.

use super::super::error::ApiError;
use super::super::xml::Xml;
use super::Call;

pub fn get_caller_identity(call: &Call<'_>) -> Result<String, ApiError> {
    let account = &call.shared.options.account_id;
    let mut x = Xml::new();
    x.text(
        "Arn",
        &format!("arn:aws:iam::{account}:user/stevedore-test"),
    )
    .text("UserId", "AIDASTEVEDORETEST0001")
    .text("Account", account);
    Ok(x.finish())
}
