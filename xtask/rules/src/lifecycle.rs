//! ECR's lifecycle policy evaluation, as AWS documents it
//! (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html>,
//! aws-behaviours row 51): each image is claimed by the rule of lowest `rulePriority` whose tag
//! selection it matches (`tagStatus: tagged` with `tagPatternList` wildcards, `untagged`,
//! `any`), and "an image that matches the tagging requirements of a higher priority rule cannot
//! be expired by a rule with a lower priority"; within a rule, `imageCountMoreThan` expires all
//! but the newest `countNumber` by push time, `sinceImagePushed` those pushed more than
//! `countNumber` days ago. Neither model of AWS runs it on its own (ECR applies a policy within
//! 24 hours); the pipeline's policy is judged by it.
use std::collections::BTreeSet;

use serde_json::Value;

/// An image as a lifecycle policy sees it.
#[derive(Debug, Clone)]
pub struct Image {
    pub digest: String,
    pub tags: Vec<String>,
    /// When it was pushed (epoch seconds).
    pub pushed_at: u64,
}

/// The digests `policy` (a lifecycle policy's JSON) expires among `images` at `now` (epoch
/// seconds).
pub fn expired(policy: &Value, images: &[Image], now: u64) -> BTreeSet<String> {
    let mut rules: Vec<&Value> = policy["rules"].as_array().into_iter().flatten().collect();
    rules.sort_by_key(|rule| rule["rulePriority"].as_u64());
    let mut unclaimed: Vec<&Image> = images.iter().collect();
    let mut expired = BTreeSet::new();
    for rule in rules {
        let selection = &rule["selection"];
        let (mut claimed, rest): (Vec<&Image>, Vec<&Image>) = unclaimed
            .into_iter()
            .partition(|image| selects(selection, image));
        unclaimed = rest;
        let count = selection["countNumber"].as_u64().unwrap_or(0);
        claimed.sort_by_key(|image| std::cmp::Reverse(image.pushed_at));
        let expires = |(rank, image): &(usize, &&Image)| match selection["countType"].as_str() {
            Some("imageCountMoreThan") => *rank as u64 >= count,
            Some("sinceImagePushed") => now.saturating_sub(image.pushed_at) > count * 86_400,
            _ => false,
        };
        expired.extend(
            claimed
                .iter()
                .enumerate()
                .filter(expires)
                .map(|(_, image)| image.digest.clone()),
        );
    }
    expired
}

/// Whether a rule's tag selection takes `image`.
fn selects(selection: &Value, image: &Image) -> bool {
    match selection["tagStatus"].as_str() {
        Some("any") => true,
        Some("untagged") => image.tags.is_empty(),
        Some("tagged") => {
            let patterns = selection["tagPatternList"]
                .as_array()
                .or(selection["tagPrefixList"].as_array());
            let prefix = selection["tagPrefixList"].is_array();
            patterns
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|p| {
                    image.tags.iter().any(|tag| {
                        if prefix {
                            tag.starts_with(p)
                        } else {
                            wildcard(p, tag)
                        }
                    })
                })
        }
        _ => false,
    }
}

/// `pattern` with `*` for any run of characters, matched against the whole of `tag`.
fn wildcard(pattern: &str, tag: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == tag,
        Some((head, rest)) => {
            let Some(tail) = tag.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| wildcard(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Image, expired, wildcard};

    fn image(digest: &str, tags: &[&str], pushed_at: u64) -> Image {
        Image {
            digest: digest.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            pushed_at,
        }
    }

    #[test]
    fn an_image_a_higher_rule_selects_is_never_expired_by_a_lower_one() {
        let policy = json!({"rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPatternList": ["keep-*"],
             "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}},
            {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "sinceImagePushed",
             "countUnit": "days", "countNumber": 30}, "action": {"type": "expire"}}
        ]});
        let day = 86_400;
        let images = [
            image("old-kept", &["keep-1"], 0),
            image("newer-kept", &["keep-2"], day),
            image("old", &["git-a"], 0),
            image("young", &[], 40 * day),
        ];
        let gone = expired(&policy, &images, 45 * day);
        // The older keep-* image goes by rule 1's count; the old untagged-by-keep one by rule 2.
        assert_eq!(gone.into_iter().collect::<Vec<_>>(), ["old", "old-kept"]);
        assert!(wildcard("latest-*", "latest-ab") && !wildcard("latest-*", "git-latest-ab"));
        assert!(wildcard("a*b*c", "axxbyyc") && !wildcard("a*b", "ab-"));
    }
}
