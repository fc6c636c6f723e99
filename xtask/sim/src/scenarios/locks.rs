//! Named scenarios of the lock: holds, takeovers, dry runs beside a lock left behind, and
//! machines whose clocks disagree.
use std::time::Duration;

use bgd_core::{
    cloud::Apis,
    outcome::{Exit, exit_of},
    pipeline::{BLUE, GREEN, LockOptions, absent_as_none},
};

use super::{crashed_holding_the_lock, no_violation, on_provisioned, paused, reached};
use crate::{
    actor::{self, Deploy, Ending, Role},
    fault::{Fault, Script, Scripted},
    oracle::Holder,
    run::provisioned,
    tests::fixtures,
};

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

/// Was seed 112 ("actor 3 removed the live lock of Actor(1)"): a deploy stalled past its
/// lock's TTL while verifying, another took the lock over; the first must then neither
/// promote nor, in its cleanup, remove the lock that is now the other's.
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
        crate::cloud::expire_lock(&mut world.lock().unwrap());
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
        crate::cloud::expire_lock(&mut world.lock().unwrap());
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

/// Was seed 20956 ("actor 2 (deploy b2) moved green 1 → 2 without holding the lock"): a deploy
/// verified, then stalled past its lock's TTL as it recorded the verification; a prune took
/// the lock over (and left green as it was, so no RevisionId guard stops the first). Right
/// before green moves the first must find the lock no longer its own.
#[test]
fn a_deploy_taken_over_after_it_verified_does_not_promote() {
    paused(async {
        let fixtures = fixtures();
        let (config, images) = (&fixtures.config, &fixtures.images);
        let world = provisioned(1, fixtures).await;
        world.lock().unwrap().script = Script::new([
            Scripted {
                actor: 1,
                call: "GET /health",
                nth: 1,
                fault: Fault::LockExpiry,
            },
            Scripted {
                actor: 1,
                call: "PUT sim:verified-",
                nth: 1,
                fault: Fault::Stall,
            },
        ]);
        let first = actor::run(&world, 1, Role::Deploy(Deploy::of(1)), config, images);
        let second = async {
            while !matches!(world.lock().unwrap().oracle.lock, Some((_, true))) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            actor::run(&world, 2, Role::Prune { keep: 3 }, config, images).await
        };
        let (first, _) = tokio::join!(first, second);
        reached(&world, "a2 DeleteStage blue -> ok");
        reached(&world, "a1 PUT sim:verified-2 !! stall");
        let Ending::Done(Err(e)) = first else {
            panic!("the deploy whose lock was taken over promoted");
        };
        assert_eq!(exit_of(&e), Exit::LockHeld, "{e:#}");
        no_violation(&world);
    });
}

/// Was seed 593 of `--fresh --actors 5`: a deploy checked its lock right before promoting and
/// found it its own; its TTL had passed, and another run's takeover (DeleteStage, which is not
/// conditional, then CreateStage) landed between that check and the write of green. The write
/// lands: the residual the pipeline narrows to one write, which the oracle allows, and only
/// right after a check. The run says it moved green, and leaves the taker's lock alone.
#[test]
fn a_write_of_green_racing_the_takeover_of_its_lock_is_the_one_allowed() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        world.lock().unwrap().script = Script::new([Scripted {
            actor: 1,
            call: "UpdateAlias sim:green",
            nth: 1,
            fault: Fault::TakenOver { by: 2 },
        }]);
        let deploy = Role::Deploy(Deploy::of(1));
        let ending = actor::run(&world, 1, deploy, &fixtures.config, &fixtures.images).await;
        {
            let w = world.lock().unwrap();
            let trace = w.trace.as_deref().unwrap_or_default();
            // The call of a1's before the takeover (phase lines aside) is its check of the lock.
            let taken = trace.iter().position(|l| l.contains("!! taken-over"));
            let before = taken.and_then(|t| {
                trace[..t]
                    .iter()
                    .rev()
                    .find(|l| l.contains(" a1 ") && !l.contains(" == "))
            });
            assert!(
                before.is_some_and(|l| l.contains("a1 GetStage blue -> ok")),
                "the takeover did not come between the check and the write:\n{}",
                trace.join("\n")
            );
        }
        reached(&world, "a1 UpdateAlias sim:green→2 -> ok");
        let Ending::Done(Ok(said)) = ending else {
            panic!("the deploy whose write raced the takeover failed");
        };
        assert!(said.contains("this run moved it"), "{said}");
        no_violation(&world);
        let w = world.lock().unwrap();
        assert_eq!(w.routes_of(GREEN), ["2"]);
        assert_eq!(
            w.oracle.lock,
            Some((Holder::Actor(2), false)),
            "the taker's lock stays"
        );
    });
}

/// Was seed 2765: a deploy of another build found a crashed rollout's split, took the expired
/// lock, and a stall let its own lock expire and another run take it over before the deploy
/// settled the split: the settle landed under that run's lock ("actor 4 (deploy b3) moved
/// green 1 + 2 at 50% → 1 without holding the lock"). Now the settle checks the lock first.
#[test]
fn a_split_is_not_settled_under_a_lock_another_run_took_over() {
    paused(async {
        let fixtures = fixtures();
        let world = provisioned(1, fixtures).await;
        let (canary, images) = (&fixtures.rolling[0], &fixtures.images);
        world.lock().unwrap().script = Script::new([
            Scripted {
                actor: 1,
                call: "UpdateAlias sim:green",
                nth: 1,
                fault: Fault::CrashAfter,
            },
            Scripted {
                actor: 2,
                call: "DescribeRepositories",
                nth: 1,
                fault: Fault::TakenOver { by: 3 },
            },
        ]);
        let crashed = actor::run(&world, 1, Role::Deploy(Deploy::of(1)), canary, images).await;
        assert!(
            matches!(crashed, Ending::Crashed),
            "the rollout did not crash"
        );
        assert_eq!(world.lock().unwrap().routes_of(GREEN), ["1", "2"]);
        crate::cloud::expire_lock(&mut world.lock().unwrap());
        let ending = actor::run(&world, 2, Role::Deploy(Deploy::of(3)), canary, images).await;
        reached(&world, "a2 DescribeRepositories sim !! taken-over");
        let Ending::Done(Err(e)) = ending else {
            panic!("the deploy whose lock was taken over went on");
        };
        assert_eq!(exit_of(&e), Exit::LockHeld, "{e:#}");
        no_violation(&world);
        let w = world.lock().unwrap();
        assert_eq!(
            w.routes_of(GREEN),
            ["1", "2"],
            "the split is the taker's to settle"
        );
    });
}

/// The work under the lock panics: the run fails naming the panic, and the lock is released as
/// after any failure. The unit test before called `catching_panics` alone, and passed whether
/// or not `holding` cleaned up after a panic (security-audit-3, tests that cannot fail: 1).
#[test]
fn a_panic_under_the_lock_is_an_error_and_the_lock_is_still_released() {
    fn planted() -> anyhow::Result<()> {
        panic!("planted")
    }
    on_provisioned(|ctx| async move {
        let api = ctx.find_api().await.unwrap().unwrap();
        let green = ctx.cloud.get_stage(&api.id, GREEN).await.unwrap();
        let lock = LockOptions::default();
        let failed = ctx.locked(&api, &green.deployment_id, "", lock, None, |_| async {
            planted()
        });
        let err = failed.await.unwrap_err();
        assert!(err.to_string().contains("panicked (planted)"), "{err:#}");
        let blue = absent_as_none(ctx.cloud.get_stage(&api.id, BLUE).await).unwrap();
        assert!(blue.is_none(), "the lock stayed: {blue:?}");
    });
}
