//! HTTP_PROXY / HTTPS_PROXY: the registry client and the AWS clients go through the proxy the
//! environment names (a recording proxy on 127.0.0.1), with the real registry and the EB emulator
//! behind it.

use std::process::Output;

use crate::deploy::DeployRig;
use crate::support::proxy::Proxy;

fn check(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn registry_and_aws_traffic_goes_through_the_proxy() {
    let Some(rig) = DeployRig::start(|_| {}) else {
        return;
    };
    let p = &rig.project;
    std::fs::write(p.root().join("RELEASE"), "1.0.0\n").expect("write RELEASE");
    p.commit_all("Release 1.0.0");
    p.run(["image", "build", "prod"]).success();
    p.run(["release", "prod", "1.0.0"]).success();

    let proxy = Proxy::start();
    let out = p
        .command(["publish", "prod", "1.0.0"])
        .env("HTTP_PROXY", &proxy.url)
        .env("HTTPS_PROXY", &proxy.url)
        .output()
        .expect("run publish");
    check(&out, "publish through the proxy");
    let seen = proxy.seen();
    let manifest = format!("HEAD http://{}/v2/", rig.registry.host());
    assert!(
        seen.iter()
            .any(|l| l.starts_with(&manifest) && l.contains("/manifests/")),
        "the proxy saw {seen:?}"
    );

    let out = p
        .command(["history", "prod"])
        .env("http_proxy", &proxy.url)
        .output()
        .expect("run history");
    let seen = proxy.seen();
    let eb = format!("POST {}", rig.sim.endpoint_url().trim_end_matches('/'));
    assert!(
        seen.iter().any(|l| l.starts_with(&eb)),
        "the proxy saw {seen:?}; history said {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // NO_PROXY sends the registry request direct.
    let direct = Proxy::start();
    let out = p
        .command(["publish", "prod", "1.0.0"])
        .env("HTTP_PROXY", &direct.url)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .expect("run publish");
    check(&out, "publish with NO_PROXY");
    assert!(
        !direct.seen().iter().any(|l| l.contains("/v2/")),
        "{:?}",
        direct.seen()
    );
}
