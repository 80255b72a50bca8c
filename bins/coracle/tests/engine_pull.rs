//! `run` of an image that is not in the store pulls it first (a real docker-registry).

mod common;
mod engine_support;
mod registry_support;

use engine_support::*;
use registry_support::Registry;

#[test]
fn run_pulls_a_missing_image_then_runs_it() {
    let env = env();
    let reg = Registry::start();
    let reference = reg.reference("engine/busybox:1");
    env.ok(&["push", IMAGE, &reference]);
    let fresh = common::Env::new();
    let out = fresh.output(&[
        "run",
        "--rm",
        "--network",
        "none",
        &reference,
        "echo",
        "pulled",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "pulled\n");
    let images = fresh.images();
    assert_eq!(images.len(), 1, "{images:?}");
    // Present now: no second pull (the registry is gone and it still runs).
    drop(reg);
    let out = fresh.output(&["run", "--rm", "--network", "none", &reference, "true"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_store_empty(&fresh);
}

#[test]
fn an_image_that_cannot_be_pulled_is_one_error_125_and_nothing_left() {
    let env = common::Env::new();
    let reg = Registry::start();
    let out = env.output(&["run", "--rm", &reg.reference("not/there:1"), "true"]);
    assert_one_error(&out, 125, "not/there:1");
    assert!(ids(&env).is_empty());
}

#[test]
fn pull_never_refuses_a_missing_image_and_pull_always_goes_to_the_registry() {
    let env = env();
    let reg = Registry::start();
    let reference = reg.reference("engine/always:1");
    env.ok(&["push", IMAGE, &reference]);
    let fresh = common::Env::new();
    let out = fresh.output(&["run", "--rm", "--pull", "never", &reference, "true"]);
    assert_one_error(&out, 125, "--pull never");
    assert!(fresh.images().is_empty());
    let out = fresh.output(&[
        "run",
        "--rm",
        "--pull",
        "always",
        "--network",
        "none",
        &reference,
        "echo",
        "ok",
    ]);
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "ok\n"),
        "{}",
        stderr(&out)
    );
    // With the registry gone, `always` fails although the image is in the store.
    drop(reg);
    let out = fresh.output(&["run", "--rm", "--pull", "always", &reference, "true"]);
    assert_one_error(&out, 125, "could not be pulled");
    let out = fresh.output(&["run", "--rm", "--pull", "sometimes", &reference, "true"]);
    assert_one_error(&out, 125, "--pull");
    assert!(ids(&fresh).is_empty());
}
