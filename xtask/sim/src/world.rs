//! The simulated world's state: one account with one function (its versions and aliases under
//! Lambda's rules from `crate::rules`), one REST API with its stages, one image repository, the
//! apps those images run, and what the oracle saw. Mutated only under the world's lock, one
//! call at a time, so every call is atomic as AWS's are.
use std::{
    collections::{BTreeMap, BTreeSet},
    hash::DefaultHasher,
};

use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::{
    app::App,
    fault::{Fault, FaultCounts, Rates, Script},
    iam::IamRole,
    oracle::Oracle,
    traffic::Traffic,
};
use bgd_core::cloud::{AliasTarget, Integration, Route, Settings, Stage, Version, VersionState};
use bgd_rules::{
    Delays,
    lambda::{Function, Status},
};

pub(super) const ACCOUNT: &str = "123456789012";
/// Where the simulation's wall clock starts: the builds' commit time.
pub(crate) const EPOCH: u64 = 1_767_225_600;
/// The most an actor's clock is off from the world's, either way (seconds).
pub(super) const MAX_SKEW_S: u64 = 90;
pub(super) const REGISTRY_HOST: &str = "sim.registry";
/// The stages' base URL: `http://sim/restapis/API/STAGE/_user_request_/…`, as the local gateway.
pub(super) const GATEWAY: &str = "http://sim";

/// A published version's facts beside Lambda's state of it.
#[derive(Debug, Clone)]
pub(super) struct VersionFacts {
    pub description: String,
    pub settings: Settings,
}

#[derive(Debug, Clone)]
pub(super) struct SimAlias {
    pub target: String,
    /// The routing configuration: other versions and their shares (a rollout's split).
    pub weights: BTreeMap<String, f64>,
    pub description: String,
    /// The target before the last move and when it moved: the data plane may still route to
    /// it while the move propagates.
    pub previous: Option<(String, u64)>,
}

#[derive(Debug, Clone)]
pub(super) struct SimStage {
    pub stage: Stage,
    /// API Gateway serves the stage as it is from then on.
    pub served_at: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Lambda {
    pub function: Option<(Function, Settings)>,
    pub versions: BTreeMap<u64, VersionFacts>,
    pub next_version: u64,
    pub aliases: BTreeMap<String, SimAlias>,
}

/// No function yet: the first version a new function publishes is 1, also after the last one
/// was deleted (a destroyed stack provisioned again published version 0).
impl Default for Lambda {
    fn default() -> Self {
        Self {
            function: None,
            versions: BTreeMap::new(),
            next_version: 1,
            aliases: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub(super) struct Gateway {
    pub api: Option<(String, String)>,
    pub routes: Vec<Route>,
    pub stages: BTreeMap<String, SimStage>,
    /// Deployments created (`dep-1`…), and those deleted since.
    pub deployments: u64,
    pub deleted_deployments: BTreeSet<u64>,
}

#[derive(Debug, Default, Clone)]
pub(super) struct Images {
    /// The one repository's name, once created.
    pub repository: Option<String>,
    /// Manifest digests stored.
    pub manifests: BTreeSet<String>,
    /// Tag → digest.
    pub tags: BTreeMap<String, String>,
    /// The repository's lifecycle policy.
    pub lifecycle: Option<String>,
    /// The repository's policy (SetRepositoryPolicy replaces it whole).
    pub policy: Option<String>,
}

impl Images {
    /// Whether the repository `name` exists.
    pub(super) fn holds(&self, name: &str) -> bool {
        self.repository.as_deref() == Some(name)
    }

    /// Deletes a manifest and every tag naming it; `false` when it was not there.
    pub(super) fn delete(&mut self, digest: &str) -> bool {
        self.tags.retain(|_, d| d != digest);
        self.manifests.remove(digest)
    }
}

/// Everything the simulated cloud holds, and the run's bookkeeping.
pub(super) struct World {
    pub rng: SmallRng,
    pub delays: Delays,
    /// How long an alias move takes to reach every data-plane node.
    pub alias_ms: u64,
    pub rates: Rates,
    /// Faults are drawn only while this holds (set-up and the convergence runs have none).
    pub faulty: bool,
    /// A scenario's faults, met whether or not faults are drawn.
    pub script: Script,
    pub lambda: Lambda,
    pub gateway: Gateway,
    pub images: Images,
    /// IAM's roles by name (Lambda may assume one `role_ms` after its creation).
    pub roles: BTreeMap<String, IamRole>,
    /// CloudWatch's alarms as put (the alarm the simulation's deploy.toml names is judged from
    /// the traffic instead: `traffic.rs`).
    pub alarms: BTreeMap<String, bgd_rules::cloudwatch::Alarm>,
    /// Actor → how far its machine's clock is off (seconds).
    pub skews: BTreeMap<usize, i64>,
    /// Actor → when its session credentials expire (epoch seconds, as STS stamps them); an
    /// actor not here has credentials the SDK refreshes.
    pub credentials: BTreeMap<usize, u64>,
    /// Actors whose process died.
    pub dead: BTreeSet<usize>,
    /// Digest → the app its image runs.
    pub apps: BTreeMap<String, App>,
    pub oracle: Oracle,
    pub faults: FaultCounts,
    /// The run's steps as lines, when traced (a scenario, a test or `--trace`); formatting
    /// every step's line took a tenth of a batch's time that no one reads.
    pub trace: Option<Vec<String>>,
    /// The (actor, operation) sequence, hashed as it goes: two runs with the same one
    /// interleaved alike.
    pub schedule: DefaultHasher,
    pub steps: u64,
    /// The world's users and Lambda's metrics of every invocation, as CloudWatch has them.
    pub traffic: Traffic,
    pub start: tokio::time::Instant,
}

impl World {
    pub(super) fn new(seed: u64, rates: Rates) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        // Each run draws how slow this AWS is: the rules are AWS's, their delays vary.
        let delays = Delays {
            pending_ms: rng.random_range(0..2_000),
            update_ms: rng.random_range(0..2_000),
            role_ms: rng.random_range(0..3_000),
            idle_ms: 15 * 60 * 1000,
            stage_ms: rng.random_range(0..3_000),
        };
        let alias_ms = rng.random_range(0..3_000);
        let traffic = Traffic::draw(&mut rng);
        Self {
            rng,
            delays,
            alias_ms,
            rates,
            faulty: false,
            script: Script::default(),
            lambda: Lambda::default(),
            gateway: Gateway::default(),
            images: Images::default(),
            roles: BTreeMap::new(),
            alarms: BTreeMap::new(),
            skews: BTreeMap::new(),
            credentials: BTreeMap::new(),
            dead: BTreeSet::new(),
            apps: BTreeMap::new(),
            oracle: Oracle::default(),
            faults: FaultCounts::default(),
            trace: Some(Vec::new()),
            schedule: DefaultHasher::new(),
            steps: 0,
            traffic,
            start: tokio::time::Instant::now(),
        }
    }

    /// The world's own wall clock (epoch seconds): what AWS stamps and CloudWatch counts by,
    /// whichever actor's call is at work (each actor's clock is skewed, `ledger::skewed`).
    pub(super) fn epoch_s(&self) -> u64 {
        EPOCH + self.now() / 1000
    }

    /// Virtual milliseconds since the run began.
    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The fault `actor`'s call `name` meets: a scripted one, else one drawn while faulty.
    pub(super) fn fault(
        &mut self,
        actor: usize,
        name: &str,
        (write, lambda_write): (bool, bool),
    ) -> Option<Fault> {
        if let Some(fault) = self.script.fault(actor, name) {
            return Some(fault);
        }
        if !self.faulty {
            return None;
        }
        // The writes a holder's last check of its lock comes right before, or should.
        let green_write =
            name.starts_with("UpdateAlias sim:green") || name.starts_with("PUT sim:verified-");
        self.rates
            .fault(&mut self.rng, (write, lambda_write, green_write))
    }

    /// A line in the trace, formatted only when the run is traced.
    pub(super) fn note(&mut self, line: impl FnOnce() -> String) {
        let at = self.now();
        if let Some(trace) = &mut self.trace {
            trace.push(format!("{at:>8}ms {}", line()));
        }
    }

    /// A fresh RevisionId, from the run's seed (Lambda's are random UUIDs).
    pub(super) fn revision(&mut self) -> String {
        format!("rev-{:016x}", self.rng.random::<u64>())
    }

    pub(super) fn function_arn(&self, name: &str) -> String {
        format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
    }

    /// Lambda's view of `$LATEST` or a published version, as GetFunction answers it.
    pub(super) fn version(&self, name: &str, qualifier: &str) -> Option<Version> {
        let (function, settings) = self.lambda.function.as_ref()?;
        let now = self.now();
        let (image, state, update, description, settings, revision) = if qualifier == "$LATEST" {
            (
                function.image.clone(),
                function.status(now, &self.delays),
                function.last_update_status(now),
                String::new(),
                settings.clone(),
                Some(function.revision_at(now).to_owned()),
            )
        } else {
            let published = function.versions.get(qualifier)?;
            let facts = self.lambda.versions.get(&qualifier.parse().ok()?)?;
            (
                published.image.clone(),
                published.status(now, &self.delays),
                published.last_update_status(now),
                facts.description.clone(),
                facts.settings.clone(),
                Some(published.revision.clone()),
            )
        };
        let architecture = match qualifier {
            "$LATEST" => &function.architecture,
            number => &function.versions.get(number)?.architecture,
        };
        Some(Version {
            function_name: name.into(),
            function_arn: self.function_arn(name),
            version: qualifier.into(),
            code_sha256: bgd_rules::lambda::digest_hex(&image).to_owned(),
            image: bgd_core::cloud::ImageRef::parse(&image),
            settings,
            description,
            state: match state {
                Status::Pending => VersionState::Pending,
                Status::Active => VersionState::Active,
                Status::Inactive => VersionState::Inactive,
                Status::Failed => VersionState::Failed,
            },
            architecture: architecture.clone(),
            last_update_status: update.map(str::to_owned),
            revision_id: revision,
        })
    }

    /// The version a data-plane node routes a request through `alias` to now: by the alias's
    /// weights, and during propagation of a move some nodes still route to the previous
    /// target.
    pub(super) fn routed(&mut self, alias: &str) -> Option<String> {
        let now = self.now();
        let alias_ms = self.alias_ms;
        let (flip, roll) = (self.rng.random_bool(0.5), self.rng.random::<f64>());
        let alias = self.lambda.aliases.get(alias)?;
        if let Some((previous, moved_at)) = &alias.previous
            && now < moved_at + alias_ms
            && flip
        {
            return Some(previous.clone());
        }
        let mut edge = 0.0;
        for (version, share) in &alias.weights {
            edge += share;
            if roll < edge {
                return Some(version.clone());
            }
        }
        Some(alias.target.clone())
    }

    /// Every version alias `alias` routes to (its target, then its weighted others).
    pub(super) fn routes_of(&self, alias: &str) -> Vec<String> {
        self.lambda.aliases.get(alias).map_or_else(Vec::new, |a| {
            std::iter::once(a.target.clone())
                .chain(a.weights.keys().cloned())
                .collect()
        })
    }

    /// The image a published version runs.
    pub(super) fn image_of(&self, version: &str) -> Option<String> {
        let (function, _) = self.lambda.function.as_ref()?;
        let image = &function.versions.get(version)?.image;
        Some(
            image
                .rsplit_once('@')
                .map_or(image.clone(), |(_, d)| d.to_owned()),
        )
    }

    pub(super) fn set_alias(
        &mut self,
        alias: &str,
        target: &AliasTarget,
        description: Option<&str>,
    ) {
        let now = self.now();
        let entry = self
            .lambda
            .aliases
            .entry(alias.to_owned())
            .or_insert_with(|| SimAlias {
                target: target.version.clone(),
                weights: BTreeMap::new(),
                description: String::new(),
                previous: None,
            });
        entry.weights = target.additional_weights.clone();
        if entry.target != target.version {
            entry.previous = Some((entry.target.clone(), now));
            entry.target = target.version.clone();
        }
        entry.weights = target.additional_weights.clone();
        if let Some(description) = description {
            entry.description = description.to_owned();
        }
    }

    pub(super) fn proxy_routes(&mut self, function_arn: &str) {
        let integration = Integration {
            kind: "AWS_PROXY".into(),
            uri: Some(Integration::lambda_uri("us-east-1", function_arn)),
        };
        self.gateway.routes = ["/", "/{proxy+}"]
            .into_iter()
            .map(|path| Route {
                path: path.into(),
                methods: BTreeMap::from([("ANY".to_owned(), integration.clone())]),
            })
            .collect();
    }
}
