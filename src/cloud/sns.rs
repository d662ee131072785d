//! SNS: topics with their subscriptions, KMS key and data-protection policy.

use super::error::from_sdk;
use super::{Cloud, CloudError};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub raw_delivery: bool,
    pub filter_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    pub arn: String,
    pub fifo: bool,
    pub kms_key: Option<String>,
    pub data_protection_policy: Option<String>,
    pub subscriptions: Vec<Subscription>,
    pub attributes: BTreeMap<String, String>,
}

fn name_of(arn: &str) -> String {
    arn.rsplit(':').next().unwrap_or(arn).to_string()
}

impl Topic {
    /// A topic known only by its ARN (ListTopics), its details still loading.
    pub fn pending(arn: &str) -> Topic {
        let name = name_of(arn);
        Topic {
            fifo: name.ends_with(".fifo"),
            name,
            arn: arn.to_string(),
            kms_key: None,
            data_protection_policy: None,
            subscriptions: Vec::new(),
            attributes: BTreeMap::new(),
        }
    }
}

impl Cloud {
    /// Every topic (ListTopics paged to the end) with attributes, subscriptions and data
    /// protection, per-topic calls with bounded concurrency.
    pub async fn list_topics(&self) -> Result<Vec<Topic>, CloudError> {
        let arns = self.list_topic_arns().await?;
        let client = self.sns.clone();
        self.bounded(arns, move |arn| topic_details(client.clone(), arn))
            .await
    }

    /// Every topic ARN (ListTopics paged to the end), before any per-topic call.
    pub async fn list_topic_arns(&self) -> Result<Vec<String>, CloudError> {
        self.alive()?;
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .sns
                .list_topics()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| from_sdk("ListTopics", "topics", e))?;
            arns.extend(
                out.topics()
                    .iter()
                    .filter_map(|t| t.topic_arn().map(str::to_string)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(arns)
    }

    pub async fn topic(&self, arn: &str) -> Result<Topic, CloudError> {
        self.alive()?;
        topic_details(self.sns.clone(), arn.to_string()).await
    }
}

async fn topic_details(client: aws_sdk_sns::Client, arn: String) -> Result<Topic, CloudError> {
    let what = format!("topic {}", name_of(&arn));
    let attrs: BTreeMap<String, String> = client
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .map_err(|e| from_sdk("GetTopicAttributes", &what, e))?
        .attributes()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut subscriptions = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .list_subscriptions_by_topic()
            .topic_arn(&arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| from_sdk("ListSubscriptionsByTopic", &what, e))?;
        for s in out.subscriptions() {
            subscriptions.push(Subscription {
                arn: s.subscription_arn().unwrap_or_default().to_string(),
                protocol: s.protocol().unwrap_or_default().to_string(),
                endpoint: s.endpoint().unwrap_or_default().to_string(),
                raw_delivery: false,
                filter_policy: None,
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    for s in subscriptions
        .iter_mut()
        .filter(|s| s.arn.starts_with("arn:"))
    {
        let a = client
            .get_subscription_attributes()
            .subscription_arn(&s.arn)
            .send()
            .await
            .map_err(|e| from_sdk("GetSubscriptionAttributes", &what, e))?;
        if let Some(m) = a.attributes() {
            s.raw_delivery = m.get("RawMessageDelivery").map(String::as_str) == Some("true");
            s.filter_policy = m.get("FilterPolicy").cloned().filter(|p| !p.is_empty());
        }
    }
    let dpp = client
        .get_data_protection_policy()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| from_sdk("GetDataProtectionPolicy", &what, e))?
        .data_protection_policy()
        .map(str::to_string)
        .filter(|p| !p.is_empty());
    Ok(Topic {
        name: name_of(&arn),
        fifo: attrs.get("FifoTopic").map(String::as_str) == Some("true") || arn.ends_with(".fifo"),
        kms_key: attrs
            .get("KmsMasterKeyId")
            .cloned()
            .filter(|k| !k.is_empty()),
        data_protection_policy: dpp,
        subscriptions,
        attributes: attrs,
        arn,
    })
}

/// One read at a time, for posture (a denied read leaves the others standing).
impl Cloud {
    /// GetTopicAttributes.
    pub async fn topic_attributes(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, CloudError> {
        self.alive()?;
        Ok(self
            .sns
            .get_topic_attributes()
            .topic_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("GetTopicAttributes", &format!("topic {}", name_of(arn)), e))?
            .attributes()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// ListSubscriptionsByTopic paged to the end (no attributes read).
    pub async fn topic_subscriptions(&self, arn: &str) -> Result<Vec<Subscription>, CloudError> {
        self.alive()?;
        let what = format!("topic {}", name_of(arn));
        let mut subscriptions = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(arn)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| from_sdk("ListSubscriptionsByTopic", &what, e))?;
            for s in out.subscriptions() {
                subscriptions.push(Subscription {
                    arn: s.subscription_arn().unwrap_or_default().to_string(),
                    protocol: s.protocol().unwrap_or_default().to_string(),
                    endpoint: s.endpoint().unwrap_or_default().to_string(),
                    raw_delivery: false,
                    filter_policy: None,
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(subscriptions)
    }

    /// GetSubscriptionAttributes.
    pub async fn subscription_attributes(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, CloudError> {
        self.alive()?;
        Ok(self
            .sns
            .get_subscription_attributes()
            .subscription_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("GetSubscriptionAttributes", "subscription", e))?
            .attributes()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// GetDataProtectionPolicy (None when the topic has none).
    pub async fn data_protection_policy(&self, arn: &str) -> Result<Option<String>, CloudError> {
        self.alive()?;
        Ok(self
            .sns
            .get_data_protection_policy()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "GetDataProtectionPolicy",
                    &format!("topic {}", name_of(arn)),
                    e,
                )
            })?
            .data_protection_policy()
            .map(str::to_string)
            .filter(|p| !p.is_empty()))
    }

    /// ListTagsForResource of a topic.
    pub async fn topic_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, CloudError> {
        self.alive()?;
        Ok(self
            .sns
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("ListTagsForResource", &format!("topic {}", name_of(arn)), e))?
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }
}
