//! STS: who the session is (GetCallerIdentity).

use super::error::from_sdk;
use super::{Cloud, CloudError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub arn: String,
    pub account: String,
    pub user_id: String,
}

impl Cloud {
    pub async fn caller(&self) -> Result<Caller, CloudError> {
        self.alive()?;
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| from_sdk("GetCallerIdentity", "caller", e))?;
        Ok(Caller {
            arn: out.arn().unwrap_or_default().to_string(),
            account: out.account().unwrap_or_default().to_string(),
            user_id: out.user_id().unwrap_or_default().to_string(),
        })
    }
}
