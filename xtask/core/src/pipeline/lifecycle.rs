//! The repository's lifecycle policy, which provision sets: ECR expires by it images no deploy
//! will run again, never one a verified version runs, and not the one `$LATEST` runs after a
//! deploy that failed on blue (unless more such failures follow it than the policy keeps).
use anyhow::Result;

use super::{Cloud, Ctx};
use crate::{cloud::Pruning, ledger::LATEST_IMAGE_PREFIX};

/// The repository's lifecycle policy: images tagged `verified-*` are matched first and so
/// never expired by the rules after it (an image matched by a rule is not expired by a rule of
/// lower priority, aws-behaviours row 51); then the 3 newest of the other images a deploy
/// pushed (`latest-*`), so the image `$LATEST` runs after a deploy that failed on blue stays
/// while no deploy follows (expired, it sends the function to Failed); any other image goes 30
/// days after its push. Only past 1000 verified images would the oldest verified expire.
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html>)
pub fn lifecycle_policy() -> serde_json::Value {
    serde_json::json!({"rules": [
        {
            "rulePriority": 1,
            "description": "keep images blue verified (verified-N-FINGERPRINT tags)",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["verified-*"],
                "countType": "imageCountMoreThan",
                "countNumber": 1000
            },
            "action": {"type": "expire"}
        },
        {
            "rulePriority": 2,
            "description": "keep the newest images a deploy pushed, one of which $LATEST runs",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": [format!("{LATEST_IMAGE_PREFIX}*")],
                "countType": "imageCountMoreThan",
                "countNumber": KEPT_LATEST
            },
            "action": {"type": "expire"}
        },
        {
            "rulePriority": 3,
            "description": "images never verified, 30 days after their push",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 30
            },
            "action": {"type": "expire"}
        }
    ]})
}

/// How many of the newest unverified images a deploy pushed the lifecycle policy keeps: the one
/// `$LATEST` runs is among them unless more deploys than this failed on blue since it was
/// pushed and none was verified .
const KEPT_LATEST: u32 = 3;

/// Provision's image rule: sets [`lifecycle_policy`] on the repository unless it is already
/// there (a second provision writes nothing). Returns whether it wrote.
pub async fn keep_verified_images<C: Cloud + Pruning>(ctx: &Ctx<C>) -> Result<bool> {
    let repository = ctx.config.repository_name();
    let wanted = lifecycle_policy();
    let current = ctx.cloud.lifecycle_policy(repository).await?;
    let same = current
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|current| current == wanted);
    if !same {
        ctx.cloud
            .put_lifecycle_policy(repository, &wanted.to_string())
            .await?;
    }
    Ok(!same)
}

#[cfg(test)]
mod tests {
    use bgd_rules::lifecycle::{Image, expired};

    use super::{KEPT_LATEST, lifecycle_policy};

    const DAY: u64 = 86_400;

    fn pushed(digest: &str, tags: &[&str], day: u64) -> Image {
        Image {
            digest: digest.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            pushed_at: day * DAY,
        }
    }

    /// aws-audit-3 N4/N8: a deploy that failed on blue leaves `$LATEST` on an image no
    /// verified version runs; the policy expired it 30 days after its push (then the function
    /// goes Failed). Now it stays while fewer than [`KEPT_LATEST`] unverified pushes follow it,
    /// verified images stay, and an old unverified image no deploy tagged still goes.
    #[test]
    fn the_image_latest_runs_after_a_failed_deploy_outlives_the_30_days() {
        let mut images = vec![
            pushed("verified", &["git-a", "latest-a", "verified-1-f"], 0),
            pushed("stray", &["git-s"], 0),
            pushed("latest", &["git-b", "latest-b"], 1),
        ];
        let gone = expired(&lifecycle_policy(), &images, 90 * DAY);
        assert_eq!(gone.into_iter().collect::<Vec<_>>(), ["stray"]);
        for n in 0..KEPT_LATEST {
            let tags = [format!("git-{n}"), format!("latest-{n}")];
            let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            images.push(pushed(&format!("later-{n}"), &tags, 2 + u64::from(n)));
        }
        let gone = expired(&lifecycle_policy(), &images, 90 * DAY);
        assert!(gone.contains("latest"), "past {KEPT_LATEST} newer pushes");
        assert!(!gone.contains("verified"));
    }
}
