//! Which AWS account the credentials belong to (STS `GetCallerIdentity`), and the check that it
//! is the environment's `account_id` before anything changes: deploying prod with the staging
//! credentials is the classic accident.

use super::error::AwsError;

/// Who the credentials are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Caller {
    /// The 12-digit account id.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
}

/// Ask STS who we are.
pub async fn caller(sts: &aws_sdk_sts::Client) -> Result<Caller, AwsError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("GetCallerIdentity", e))?;
    let account = out
        .account()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| AwsError::Unexpected {
            operation: "GetCallerIdentity",
            detail: "no Account in the answer".into(),
        })?
        .to_owned();
    Ok(Caller {
        account,
        arn: out.arn().unwrap_or("unknown ARN").to_owned(),
    })
}

/// Fail with [`AwsError::WrongAccount`] unless `caller` is in account `expected`.
pub fn check(environment: &str, expected: &str, caller: &Caller) -> Result<(), AwsError> {
    if normalise(expected) == normalise(&caller.account) {
        return Ok(());
    }
    Err(AwsError::WrongAccount {
        environment: environment.to_owned(),
        expected: expected.to_owned(),
        actual: caller.account.clone(),
        arn: caller.arn.clone(),
    })
}

/// Account ids are compared as digits (`1234-5678-9012` as the console shows them is the same).
fn normalise(account: &str) -> String {
    account.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_must_match() {
        let caller = Caller {
            account: "111122223333".into(),
            arn: "arn:aws:iam::111122223333:user/ci".into(),
        };
        assert!(check("prod", "111122223333", &caller).is_ok());
        assert!(check("prod", "1111-2222-3333", &caller).is_ok());
        let err = check("prod", "999988887777", &caller)
            .expect_err("another account")
            .to_string();
        assert!(
            err.contains("999988887777") && err.contains("111122223333"),
            "{err}"
        );
        assert!(err.contains("nothing was changed"), "{err}");
    }
}
