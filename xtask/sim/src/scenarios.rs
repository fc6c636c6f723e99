//! Named scenarios: one situation of the pipeline against the simulated AWS, set up exactly
//! (no drawn fault, no seed to rot), so each test reaches its situation by construction. What
//! the smithy-mocked SDK checked before (`bgd-aws`'s `guards.rs` still checks that the SDK
//! reads AWS's answer as the same error): the pipeline's side of the guards.
use std::{collections::BTreeMap, future::Future, sync::Arc, time::Duration};

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
    assert!(
        w.trace.iter().any(|l| l.contains(line)),
        "the scenario never reached \"{line}\":\n{}",
        w.trace.join("\n")
    );
}

/// No invariant broken, or the violations and the trace.
fn no_violation(world: &std::sync::Mutex<World>) {
    let w = world.lock().unwrap();
    assert!(
        w.oracle.violations.is_empty(),
        "{:?}\n{}",
        w.oracle.violations,
        w.trace.join("\n")
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

/// Before the fix (the hold was written into the lock when `deploy --hold` took it): an
/// `abort` while that deploy still verified removed its lock, said "removed stage blue (the
/// hold of version 1 …)", the version blue pointed at before, and the deploy went on writing
/// without a lock ("actor 1 wrote (UpdateAlias sim:blue→2) after actor 2 removed its live
/// lock").
#[test]
fn an_abort_while_the_held_deploy_still_verifies_leaves_its_lock() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        let (config, images) = (&fixtures.config, &fixtures.images);
        let hold = Role::Deploy(Deploy {
            hold: true,
            ..Deploy::of(1)
        });
        let deploy = actor::run(&world, 1, hold, config, images);
        let abort = async {
            // The moment the deploy holds its lock, before blue points at its version.
            while !world.lock().unwrap().gateway.stages.contains_key(BLUE) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            actor::run(&world, 2, Role::Abort, config, images).await
        };
        let (deployed, aborted) = tokio::join!(deploy, abort);
        let Ending::Done(Err(e)) = aborted else {
            panic!("the abort of a deploy still verifying went through");
        };
        assert_eq!(exit_of(&e), Exit::LockHeld, "{e:#}");
        assert!(format!("{e:#}").contains("not a hold"), "{e:#}");
        let Ending::Done(Ok(said)) = deployed else {
            panic!("the held deploy did not finish");
        };
        assert!(said.starts_with("Held version Some(2)"), "{said}");
        let w = world.lock().unwrap();
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

/// Was seeds 112 and 20956 ("actor 3 removed the live lock of Actor(1)"; "actor 2 (deploy b2)
/// moved green 1 → 2 without holding the lock"): a deploy stalled past its lock's TTL while
/// verifying, another took the lock over; the first must then neither promote nor, in its
/// cleanup, remove the lock that is now the other's.
#[test]
fn a_deploy_whose_lock_was_taken_over_neither_promotes_nor_removes_the_new_lock() {
    paused(async {
        let fixtures = fixtures();
        let (config, images) = (&fixtures.config, &fixtures.images);
        let world = provisioned(1, fixtures).await;
        // Actor 1's lock expires as it publishes; blue's first ten answers to it are throttled
        // (it stalls); then eighty of actor 2's (it still holds the lock when actor 1 fails and
        // cleans up).
        let throttled = |actor, times| {
            (1..=times).map(move |nth| Scripted {
                actor,
                call: "GET /version",
                nth,
                fault: Fault::Throttle,
            })
        };
        let expiry = Scripted {
            actor: 1,
            call: "PublishVersion",
            nth: 1,
            fault: Fault::LockExpiry,
        };
        world.lock().unwrap().script = Script::new(
            std::iter::once(expiry)
                .chain(throttled(1, 10))
                .chain(throttled(2, 80)),
        );
        let first = actor::run(&world, 1, Role::Deploy(Deploy::of(1)), config, images);
        let second = async {
            while !matches!(world.lock().unwrap().oracle.lock, Some((_, true))) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            actor::run(&world, 2, Role::Deploy(Deploy::of(2)), config, images).await
        };
        let (first, second) = tokio::join!(first, second);
        reached(&world, "a2 DeleteStage blue -> ok");
        let Ending::Done(Err(e)) = first else {
            panic!("the deploy whose lock was taken over went on");
        };
        // Blue, now the other's stage, refuses its token, or it finds the lock gone.
        let exit = exit_of(&e);
        assert!(
            matches!(exit, Exit::LockHeld | Exit::VerificationFailed),
            "{exit:?}: {e:#}"
        );
        assert!(
            matches!(second, Ending::Done(Ok(_))),
            "the takeover deployed"
        );
        no_violation(&world);
    });
}

/// Was seed 20462 ("actor 4 (deploy b2 --dry-run, read-only) sent the write DeleteStage
/// blue"): a dry run of the build green already runs found an expired lock and removed it.
#[test]
fn a_dry_run_of_what_green_runs_removes_no_expired_lock() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        crashed_holding_the_lock(&world, 1, 1).await;
        super::cloud::expire_lock(&mut world.lock().unwrap());
        let dry = Role::DeployDryRun { build: 0 };
        let ending = actor::run(&world, 2, dry, &fixtures.config, &fixtures.images).await;
        let Ending::Done(Ok(said)) = ending else {
            panic!("the dry run failed");
        };
        assert!(said.starts_with("AlreadyDeployed"), "{said}");
        assert!(world.lock().unwrap().gateway.stages.contains_key(BLUE));
        no_violation(&world);
    });
}

/// Was seed 22682 ("the next plain run did not converge (deploy b1 --unpin --break-lock): a
/// deploy holds the lock"): green pinned by a rollback on the build deployed, a live lock no
/// run will end; `deploy --unpin --break-lock` of that build unpins, the flag passed on.
#[test]
fn deploy_unpin_of_what_green_runs_breaks_a_dead_runs_lock_as_told() {
    paused(async {
        let fixtures = fixtures();
        let (config, images) = (&fixtures.config, &fixtures.images);
        let world = provisioned(1, fixtures).await;
        let deployed = actor::run(&world, 1, Role::Deploy(Deploy::of(1)), config, images);
        assert!(matches!(deployed.await, Ending::Done(Ok(_))));
        let rollback = actor::run(&world, 2, Role::Rollback { to: None }, config, images);
        assert!(matches!(rollback.await, Ending::Done(Ok(_))));
        assert!(world.lock().unwrap().oracle.pinned, "green is pinned");
        // An operator's stage blue appears as the deploy starts: a live lock of no bgd run.
        world.lock().unwrap().script = Script::new([Scripted {
            actor: 3,
            call: "",
            nth: 1,
            fault: Fault::ForeignLock,
        }]);
        let unpin = Role::Deploy(Deploy {
            unpin: true,
            break_lock: true,
            ..Deploy::of(0)
        });
        let ending = actor::run(&world, 3, unpin, config, images).await;
        reached(&world, "a3 DeleteStage blue -> ok");
        assert!(
            matches!(ending, Ending::Done(Ok(_))),
            "deploy --unpin --break-lock failed"
        );
        assert!(
            !world.lock().unwrap().oracle.pinned,
            "green is still pinned"
        );
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

/// Was seed 11994 ("actor 4 wrote (PUT sim@sha256:eac6…) after actor 3 removed its live
/// lock"): two deploys took over one expired lock at once, the second deleting the lock the
/// first had just created; one holder must come out of it.
#[test]
fn two_takeovers_of_one_expired_lock_leave_one_holder() {
    paused(async {
        let fixtures = fixtures();
        let (config, images) = (&fixtures.config, &fixtures.images);
        // A world (seed 12) whose latencies interleave the two takeovers so: without the
        // re-reads of `replace_lock`, actor 2 deletes the lock actor 3 just created.
        let world = provisioned(12, fixtures).await;
        crashed_holding_the_lock(&world, 1, 1).await;
        super::cloud::expire_lock(&mut world.lock().unwrap());
        let (second, third) = tokio::join!(
            actor::run(&world, 2, Role::Deploy(Deploy::of(1)), config, images),
            actor::run(&world, 3, Role::Deploy(Deploy::of(2)), config, images),
        );
        reached(
            &world,
            "a2 fails (exit LockHeld): another run took over the lock at the same moment",
        );
        let deployed = [second, third]
            .iter()
            .filter(|e| matches!(e, Ending::Done(Ok(_))))
            .count();
        assert!(deployed <= 1, "both took the lock");
        no_violation(&world);
    });
}

/// Each actor is a machine with a clock of its own: a lock's expiry is the taker's clock plus
/// the TTL, judged by the next machine's clock (here one an hour ahead takes the lock of one
/// that died, live by its own clock, as expired).
#[test]
fn a_lock_expires_by_the_clock_of_the_machine_that_judges_it() {
    paused(async {
        let fixtures = fixtures();
        let (config, images) = (&fixtures.config, &fixtures.images);
        let world = provisioned(1, fixtures).await;
        crashed_holding_the_lock(&world, 1, 1).await;
        {
            let w = world.lock().unwrap();
            let blue = &w.gateway.stages[BLUE].stage;
            let lock = bgd_core::ledger::Lock::parse(&blue.description).unwrap();
            let ttl = lock.expires.saturating_sub(w.epoch_s());
            // Until the run's deadline (an actor's is 30 minutes) and 5 minutes.
            assert!(
                (2_000..=2_100).contains(&ttl),
                "the lock stands {ttl} s by the world's clock"
            );
        }
        world.lock().unwrap().skews.insert(2, 3_600);
        let ending = actor::run(&world, 2, Role::Deploy(Deploy::of(2)), config, images).await;
        reached(&world, "a2 DeleteStage blue -> ok");
        assert!(
            matches!(ending, Ending::Done(Ok(_))),
            "the machine an hour ahead took it over"
        );
    });
}
