//! Named scenarios: one situation of the pipeline against the simulated AWS, set up exactly
//! (scripted faults, no drawn one, no seed to rot), each asserting it reached its situation;
//! most are bugs the simulation found, each failing with its fix taken out. Here: the
//! pipeline's side of the guards (what the smithy-mocked SDK checked before; `bgd-aws`'s
//! `guards.rs` still checks that the SDK reads AWS's answer as the same error), rollouts and
//! traffic; `scenarios/locks.rs`: the lock.
use std::{collections::BTreeMap, future::Future, sync::Arc};

use bgd_core::{
    cloud::{Alias, AliasTarget, Functions},
    outcome::{Exit, Green, Moved, Served, exit_of},
    pipeline::{BLUE, Ctx, GREEN, Promote},
};
use tokio::sync::Notify;

use super::{
    actor::{self, Deploy, Ending, Role},
    cloud::SimCloud,
    fault::{Fault, Script, Scripted},
    oracle::Holder,
    run::provisioned,
    tests::fixtures,
    traffic::Traffic,
    world::World,
};

/// The trace line a scenario must have reached, or the trace to see why it did not.
fn reached(world: &std::sync::Mutex<World>, line: &str) {
    let w = world.lock().unwrap();
    let trace = w.trace.as_deref().unwrap_or_default();
    assert!(
        trace.iter().any(|l| l.contains(line)),
        "the scenario never reached \"{line}\":\n{}",
        trace.join("\n")
    );
}

/// No invariant broken, or the violations and the trace.
fn no_violation(world: &std::sync::Mutex<World>) {
    let w = world.lock().unwrap();
    assert!(
        w.oracle.violations.is_empty(),
        "{:?}\n{}",
        w.oracle.violations,
        w.trace.as_deref().unwrap_or_default().join("\n")
    );
}

/// Actor `actor`'s deploy of build `build`, crashed as it pushed: its lock stays.
async fn crashed_holding_the_lock(
    world: &Arc<std::sync::Mutex<World>>,
    actor: usize,
    build: usize,
) {
    let fixtures = fixtures();
    world.lock().unwrap().script = Script::new([Scripted {
        actor,
        call: "PUT sim@",
        nth: 1,
        fault: Fault::CrashBefore,
    }]);
    let deploy = Role::Deploy(Deploy::of(build));
    let ending = actor::run(world, actor, deploy, &fixtures.config, &fixtures.images).await;
    assert!(
        matches!(ending, Ending::Crashed),
        "actor {actor} did not crash"
    );
    assert_eq!(
        world.lock().unwrap().oracle.lock,
        Some((Holder::Actor(actor), false))
    );
}

/// Runs `scenario` on the paused clock, on the virtual wall clock the runs use.
fn paused<F: Future<Output = ()>>(scenario: F) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds");
    runtime.block_on(async {
        let _clock = bgd_core::ledger::virtual_clock(1_767_225_600);
        scenario.await;
    });
}

/// Runs `scenario` on a just-provisioned world, on the paused clock, as actor 1 (a status
/// role: the scenario calls the pipeline itself).
fn on_provisioned<F: Future<Output = ()>>(scenario: impl FnOnce(Ctx<SimCloud>) -> F) {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        let ctx = actor::context(
            &world,
            1,
            &Role::Status,
            &fixtures.config,
            Arc::new(Notify::new()),
        );
        scenario(ctx).await;
    });
}

/// Green as this run read it, before someone else moved it: its RevisionId is stale.
async fn green_read_before_it_moved(ctx: &Ctx<SimCloud>) -> Alias {
    let mut green = ctx.cloud.get_alias(ctx.function(), GREEN).await.unwrap();
    green.revision_id = Some("read-before-someone-else-moved-green".into());
    green
}

#[test]
fn promote_stops_when_green_moved_since_it_was_read() {
    on_provisioned(|ctx| async move {
        let green = green_read_before_it_moved(&ctx).await;
        let write = Promote::Write {
            version: 1,
            pinned: false,
        };
        let err = ctx.promote(&green, write).await.unwrap_err();
        assert!(err.to_string().contains("green moved"), "{err:#}");
        assert!(err.to_string().contains("nothing was promoted"), "{err:#}");
        // The refused write is no move of this run's: green is judged moved by someone else.
        let writes = ctx.green_writes.lock().unwrap().clone();
        let after = Served {
            target: AliasTarget::version("7"),
            git_sha: None,
            build_id: None,
        };
        let stated = Green::judge(Some(green.target), Ok(Some(after)), &writes);
        assert_eq!(stated.moved, Moved::BySomeoneElse);
    });
}

#[test]
fn a_shift_step_stops_the_rollout_when_green_moved_since_its_last_write() {
    on_provisioned(|ctx| async move {
        let green = green_read_before_it_moved(&ctx).await;
        let split = AliasTarget {
            version: "1".into(),
            additional_weights: BTreeMap::from([("2".to_owned(), 0.1)]),
        };
        let err = ctx.guarded_green(&green, &split, None).await.unwrap_err();
        assert!(
            err.to_string().contains("the rollout stops here"),
            "{err:#}"
        );
    });
}

/// Before the fix (the rollout counted traffic from the machine's wall clock, not the clock
/// its records use): the canary of build 5, which crashes on two in five of the users'
/// requests, was promoted: CloudWatch's counts "from now" held none of the candidate's.
#[test]
fn a_canary_that_crashes_under_real_traffic_is_rolled_back_by_it() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        world.lock().unwrap().traffic = Traffic::steady(20, 2);
        let canary = &fixtures.rolling[0];
        let ending = actor::run(
            &world,
            1,
            Role::Deploy(Deploy::of(5)),
            canary,
            &fixtures.images,
        );
        let Ending::Done(Err(e)) = ending.await else {
            panic!("the crashing canary was not refused");
        };
        assert_eq!(exit_of(&e), Exit::RolledBack, "{e:#}");
        assert!(
            format!("{e:#}").contains("real traffic on version 2"),
            "{e:#}"
        );
        let w = world.lock().unwrap();
        assert_eq!(w.routes_of(GREEN), ["1"], "green back on version 1 alone");
        assert!(w.oracle.violations.is_empty(), "{:?}", w.oracle.violations);
    });
}

/// Before the fix (a rollout checked its lock once, before its first write of green): a
/// rollout that outlasted its lock went on shifting and promoted green while a prune held the
/// lock it had taken over ("actor 1 (deploy b1) moved green 1 + 2 at 50% → 2 without holding
/// the lock"). Now it stops before its next write, and says it left green split.
#[test]
fn a_rollout_whose_lock_was_taken_over_writes_green_no_more() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        let (linear, images) = (&fixtures.rolling[1], &fixtures.images);
        let deploy = actor::run(&world, 1, Role::Deploy(Deploy::of(1)), linear, images);
        let takeover = async {
            // The first step is out: the deploy stalls past its lock's TTL, a prune takes over.
            while world.lock().unwrap().routes_of(GREEN).len() < 2 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            super::cloud::expire_lock(&mut world.lock().unwrap());
            actor::run(&world, 2, Role::Prune { keep: 3 }, linear, images).await
        };
        let (deployed, pruned) = tokio::join!(deploy, takeover);
        assert!(
            matches!(pruned, Ending::Done(Ok(_))),
            "the prune took the lock over"
        );
        let Ending::Done(Err(e)) = deployed else {
            panic!("the rollout went on without its lock");
        };
        assert_eq!(exit_of(&e), Exit::GreenMoved, "{e:#}");
        assert!(format!("{e:#}").contains("mid-rollout"), "{e:#}");
        let w = world.lock().unwrap();
        assert!(w.oracle.violations.is_empty(), "{:?}", w.oracle.violations);
        assert_eq!(
            w.routes_of(GREEN),
            ["1", "2"],
            "green left split, as stated"
        );
    });
}

/// The simulation's convergence met it: green's own version crashed under users' traffic and
/// kept the rollout's alarm firing, and every deploy was refused with "deploy once it is OK
/// again", which never came. The advice names the way out, a rollback.
#[test]
fn a_deploy_refused_by_an_alarm_green_keeps_firing_names_the_rollback() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        world.lock().unwrap().traffic = Traffic::steady(20, 2);
        let (plain, watched, images) = (&fixtures.config, &fixtures.rolling[1], &fixtures.images);
        // Build 5 passes every check on blue: without a rollout it goes to green whole.
        let crashing = actor::run(&world, 1, Role::Deploy(Deploy::of(5)), plain, images);
        assert!(matches!(crashing.await, Ending::Done(Ok(_))));
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        let next = actor::run(&world, 2, Role::Deploy(Deploy::of(1)), watched, images);
        let Ending::Done(Err(e)) = next.await else {
            panic!("a deploy went out into a firing alarm");
        };
        let said = format!("{e:#}");
        assert!(said.contains("in ALARM already"), "{said}");
        assert!(said.contains("`cargo xtask rollback`"), "{said}");
        no_violation(&world);
    });
}

/// Seeds 14644 and 52583 of 100,000: a candidate crashing under users' traffic was reverted;
/// its errors reached CloudWatch up to the lag late, so the alarm on green's errors (all
/// versions) was OK when the next deploy began and went into ALARM during its rollout, which
/// was reverted and its good build recorded as failed. Now a rollout's first write waits until
/// the alarms no longer judge what green served before this run saw it.
#[test]
fn an_alarm_still_judging_a_reverted_candidate_is_not_blamed_on_the_next_rollout() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        world.lock().unwrap().traffic = Traffic::steady(20, 10);
        let (watched, images) = (&fixtures.rolling[1], &fixtures.images);
        let crashing = actor::run(&world, 1, Role::Deploy(Deploy::of(5)), watched, images);
        let Ending::Done(Err(e)) = crashing.await else {
            panic!("the crashing candidate was not reverted");
        };
        assert_eq!(exit_of(&e), Exit::RolledBack, "{e:#}");
        let firing = || {
            let w = world.lock().unwrap();
            w.traffic.alarm_fires(w.epoch_s())
        };
        assert!(
            !firing(),
            "the alarm already fires: the next deploy is refused up front"
        );
        let done = std::sync::atomic::AtomicBool::new(false);
        let next = async {
            let ending = actor::run(&world, 2, Role::Deploy(Deploy::of(1)), watched, images).await;
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            ending
        };
        let fired_late = async {
            let mut fired = false;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                fired |= firing();
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            fired
        };
        let (next, fired_late) = tokio::join!(next, fired_late);
        assert!(fired_late, "the alarm never fired during the next deploy");
        match next {
            Ending::Done(Ok(_)) => {}
            Ending::Done(Err(e)) => panic!("the next deploy, of a good build, failed: {e:#}"),
            Ending::Crashed => panic!("the next deploy crashed"),
        }
        no_violation(&world);
        let w = world.lock().unwrap();
        let served = w.routes_of(GREEN).first().and_then(|v| w.image_of(v));
        let build_1 = w
            .apps
            .iter()
            .find(|(_, a)| a.facts.git_sha.starts_with('1'));
        assert_eq!(served, build_1.map(|(digest, _)| digest.clone()));
    });
}

/// A machine on session credentials that expire in 2 min 40 s deploys, and its checks of blue
/// stall (30 s each, six of them): its run ends 2 minutes before the credentials do and
/// releases its lock while they still work, its statement true. Past the expiry every AWS call
/// answers ExpiredTokenException, which the oracle counts as a run that outlived its
/// deadline; with the credentials' expiry left out of the deadline, the run's cleanup met it
/// and left the lock.
#[test]
fn a_run_ends_before_the_credentials_of_its_machine_expire() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        let expire = world.lock().unwrap().epoch_s() + 160;
        world.lock().unwrap().credentials.insert(1, expire);
        world.lock().unwrap().script = Script::new((1..=6).map(|nth| Scripted {
            actor: 1,
            call: "GET /health",
            nth,
            fault: Fault::Stall,
        }));
        let deploy = Role::Deploy(Deploy::of(1));
        let ending = actor::run(&world, 1, deploy, &fixtures.config, &fixtures.images).await;
        let Ending::Done(Err(e)) = ending else {
            panic!("the deploy went on past its deadline and finished");
        };
        assert!(format!("{e:#}").contains("--timeout passed"), "{e:#}");
        let w = world.lock().unwrap();
        assert!(w.epoch_s() < expire, "ended past the expiry: {e:#}");
        assert!(!w.gateway.stages.contains_key(BLUE), "the lock was left");
        drop(w);
        no_violation(&world);
    });
}

/// `destroy` leaves nothing of the stack, and `provision` builds it again as new: green on
/// version 1, as a new function's first version is on AWS (the simulated Lambda restarted
/// its numbers at 0 after the function was deleted).
#[test]
fn a_destroyed_stack_is_provisioned_again_from_version_1() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        let (config, images) = (&fixtures.config, &fixtures.images);
        let destroyed = actor::run(&world, 1, Role::Destroy, config, images).await;
        assert!(matches!(destroyed, Ending::Done(Ok(_))), "destroy failed");
        {
            let w = world.lock().unwrap();
            assert!(w.lambda.function.is_none() && w.gateway.api.is_none());
            assert!(w.images.repository.is_none() && w.roles.is_empty());
        }
        let provisioned = actor::run(&world, 2, Role::Provision, config, images).await;
        assert!(
            matches!(provisioned, Ending::Done(Ok(_))),
            "provision failed"
        );
        assert_eq!(world.lock().unwrap().routes_of(GREEN), ["1"]);
        no_violation(&world);
    });
}

/// Was seed 1 ("green serves version 2 … that blue never verified"): while alias blue's move
/// propagated, some of blue's checks were answered by the version before, and verification
/// took them. Build 3's /health fails; only the old version's answers would pass it.
#[test]
fn checks_of_blue_answered_by_the_version_before_are_not_taken() {
    paused(async {
        let fixtures = fixtures();
        // A world (seed 4) whose node answers blue's /health from the version before.
        let world = provisioned(4, fixtures).await;
        // Alias moves take ten minutes to reach every node: half of blue's answers come from
        // the version blue pointed at before.
        world.lock().unwrap().alias_ms = 600_000;
        let deploy = Role::Deploy(Deploy::of(3));
        let ending = actor::run(&world, 1, deploy, &fixtures.config, &fixtures.images).await;
        reached(&world, "a1 GET /health -> 200 from version 1");
        let Ending::Done(Err(e)) = ending else {
            panic!("build 3 passed verification");
        };
        assert_eq!(exit_of(&e), Exit::VerificationFailed, "{e:#}");
        no_violation(&world);
    });
}

mod locks;
