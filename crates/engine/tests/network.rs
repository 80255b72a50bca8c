//! Real networks (root): CNI plugins from containernetworking-plugins, iptables, network
//! namespaces and busybox processes inside them. Every test works in its own state/run dirs, on
//! networks named `coracle-test-<pid>-<n>` with bridges `crt-…` and 10.x subnets not routed on the
//! host, and checks the host for leftovers (veths on its bridge, netns files, iptables rules,
//! IPAM leases) after detaching.

use engine::network::{AttachRequest, Error, NetworkConfig, Networks, PortMapping, Subnet};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static N: AtomicUsize = AtomicUsize::new(0);

fn unique(what: &str) -> String {
    format!(
        "coracle-test-{}-{what}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The tests compare iptables-save before and after, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// One test's engine in its own state and run dirs. On drop (also after a failed assertion) it
/// detaches what is still attached, removes its networks and dirs, and puts ip_forward back to 0
/// when it was 0 and no veth of anybody else remains (the bridge plugin, with isGateway, turns
/// forwarding on; someone else's containers may still need it).
struct Env {
    dir: PathBuf,
    nets: Networks,
    ip_forward: Option<String>,
    _serial: MutexGuard<'static, ()>,
}

impl Env {
    fn new() -> Env {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = std::env::temp_dir().join(unique("env"));
        let mut cfg = NetworkConfig::new(dir.join("state"), dir.join("run"));
        cfg.bridge_prefix = "crt-".into();
        // The default network too gets a test bridge and a test subnet (never coracle0/10.88).
        let n = N.fetch_add(1, Ordering::Relaxed);
        cfg.default_bridge = format!("crt-d{}-{n}", std::process::id() % 100_000);
        cfg.default_subnet =
            Subnet::parse(&format!("10.214.{}.0/24", std::process::id() % 250)).unwrap();
        let ip_forward = std::fs::read_to_string(IP_FORWARD).ok();
        Env {
            dir,
            nets: Networks::new(cfg),
            ip_forward,
            _serial: serial,
        }
    }

    /// A user network on a /24 of 10.213.0.0/16 that no host route or other network uses
    /// (`create` refuses overlaps, so trying the next candidate is safe).
    fn network(&self) -> (String, String) {
        let name = unique("net");
        for i in (std::process::id() as usize % 200)..(std::process::id() as usize % 200 + 56) {
            let subnet = format!("10.213.{}.0/24", i % 256);
            match self.nets.create(&name, Some(&subnet)) {
                Ok(info) => return (name, info.bridge.unwrap()),
                Err(Error::Invalid(m)) if m.contains("overlaps") => continue,
                Err(e) => panic!("create {name}: {e}"),
            }
        }
        panic!("no free test subnet");
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let run = self.nets.config().run_dir.join("net");
        for id in std::fs::read_dir(run).into_iter().flatten().flatten() {
            let _ = self.nets.detach(&id.file_name().to_string_lossy());
        }
        for net in self.nets.list().unwrap_or_default() {
            let _ = self.nets.remove(&net.name);
        }
        let default = &self.nets.config().default_bridge;
        if link_exists(default) {
            let _ = Command::new("ip")
                .args(["link", "delete", default])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let veths = std::fs::read_dir("/sys/class/net")
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("veth"))
            })
            .unwrap_or(true);
        if self.ip_forward.as_deref() == Some("0\n") && !veths {
            let _ = std::fs::write(IP_FORWARD, "0");
        }
    }
}

fn req<'a>(id: &'a str, networks: &'a [String], ports: &'a [PortMapping]) -> AttachRequest<'a> {
    AttachRequest {
        container_id: id,
        name: id,
        hostname: None,
        networks,
        ports,
    }
}

/// Ports of a bridge (the host ends of the containers' veths).
fn bridge_ports(bridge: &str) -> BTreeSet<String> {
    std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// iptables-save without comments and counters, as a set of lines.
fn iptables() -> BTreeSet<String> {
    let out = Command::new("iptables-save")
        .output()
        .expect("iptables-save");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(" [").next().unwrap().to_string())
        .collect()
}

/// Chains the portmap and firewall plugins create once per host and share between all
/// containers (they stay, as with Podman); anything else new is a leftover.
const SHARED_CHAINS: [&str; 6] = [
    "CNI-HOSTPORT-DNAT",
    "CNI-HOSTPORT-SNAT",
    "CNI-HOSTPORT-MASQ",
    "CNI-HOSTPORT-SETMARK",
    "CNI-FORWARD",
    "CNI-ADMIN",
];

/// The per-container chains (CNI-<hash>, CNI-DN-<hash>) of the rules that mention `ids`.
fn our_chains(lines: &BTreeSet<String>, ids: &[&str]) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| ids.iter().any(|id| l.contains(id)))
        .flat_map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|w| w.starts_with("CNI-") && !SHARED_CHAINS.contains(&w.as_str()))
        .collect()
}

/// After detach: no iptables line mentions the containers' ids or addresses, nor a chain that
/// held their rules while they were attached (`during`). Compared by name only, so rules of
/// other users of the machine do not matter.
fn assert_no_rules_left(during: &BTreeSet<String>, ids: &[&str], ips: &[String]) {
    let chains = our_chains(during, ids);
    assert!(
        !chains.is_empty(),
        "no per-container chains seen while attached"
    );
    for line in iptables() {
        let ours = ids.iter().any(|id| line.contains(id))
            || ips.iter().any(|ip| line.contains(&format!("{ip}/")))
            || chains
                .iter()
                .any(|c| line.split_whitespace().any(|w| w == c));
        assert!(!ours, "iptables rule left behind: {line}");
    }
}

fn leases(env: &Env, network: &str) -> Vec<String> {
    let dir = env.nets.ipam_dir().join(network);
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("10."))
                .collect()
        })
        .unwrap_or_default()
}

/// Run a command in a netns, with `hosts` bind-mounted on /etc/hosts in a private mount namespace.
fn in_netns(netns: &Path, hosts: &Path, cmd: &str) -> std::process::Output {
    Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args([
            "--",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
        ])
        .arg(format!(
            "mount --bind {} /etc/hosts && {cmd}",
            hosts.display()
        ))
        .output()
        .expect("nsenter")
}

fn ok(out: &std::process::Output) -> bool {
    out.status.success()
}

#[test]
fn two_containers_reach_each_other_by_ip_and_name() {
    let env = Env::new();
    let (net, bridge) = env.network();
    let nets = [net.clone()];
    let (a_id, b_id) = (unique("a"), unique("b"));
    let a = env.nets.attach(&req(&a_id, &nets, &[])).unwrap();
    let b = env.nets.attach(&req(&b_id, &nets, &[])).unwrap();
    let during = iptables();
    let (a_ip, b_ip) = (a.ips[0].ip, b.ips[0].ip);
    assert_ne!(a_ip, b_ip);
    let subnet = env.nets.inspect(&net).unwrap().subnet.unwrap();
    assert!(
        a_ip.to_string()
            .starts_with(subnet.trim_end_matches("0/24")),
        "{a_ip} not in {subnet}"
    );
    env.nets
        .check(&a_id)
        .expect("CNI CHECK of a healthy attachment");
    let veths = bridge_ports(&bridge);
    assert_eq!(veths.len(), 2, "{veths:?}");
    assert_eq!(leases(&env, &net).len(), 2);

    // By IP, then by name through each one's /etc/hosts (A's was updated when B joined).
    let na = a.netns_path.clone().unwrap();
    let nb = b.netns_path.clone().unwrap();
    let ping = |ns: &Path, hosts: &Path, to: &str| {
        in_netns(ns, hosts, &format!("busybox ping -c1 -W3 {to}"))
    };
    assert!(
        ok(&ping(&na, &a.hosts, &b_ip.to_string())),
        "A cannot ping B by IP"
    );
    let out = ping(&na, &a.hosts, &b_id);
    assert!(
        ok(&out),
        "A cannot ping B by name: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ping(&nb, &b.hosts, &a_id);
    assert!(
        ok(&out),
        "B cannot ping A by name: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let hosts = std::fs::read_to_string(&a.hosts).unwrap();
    assert!(
        hosts.contains("127.0.0.1\tlocalhost") && hosts.contains(&format!("{b_ip}\t{b_id}")),
        "{hosts}"
    );
    assert_eq!(
        std::fs::read_to_string(&a.hostname).unwrap().trim(),
        &a_id[..12]
    );
    let resolv = std::fs::read_to_string(&a.resolv_conf).unwrap();
    assert!(
        resolv.contains("nameserver") && !resolv.contains("nameserver 127."),
        "{resolv}"
    );

    env.nets.detach(&b_id).unwrap();
    let hosts = std::fs::read_to_string(&a.hosts).unwrap();
    assert!(
        !hosts.contains(&b_id),
        "B still in A's hosts after it left: {hosts}"
    );
    env.nets.detach(&a_id).unwrap();

    for v in &veths {
        assert!(!link_exists(v), "veth {v} left behind");
    }
    assert!(!na.exists() && !nb.exists(), "netns file left behind");
    assert!(
        leases(&env, &net).is_empty(),
        "IPAM lease left: {:?}",
        leases(&env, &net)
    );
    assert_no_rules_left(
        &during,
        &[&a_id, &b_id],
        &[a_ip.to_string(), b_ip.to_string()],
    );
    env.nets.detach(&a_id).expect("detach is idempotent");
    env.nets.remove(&net).unwrap();
    assert!(
        !link_exists(&bridge),
        "bridge {bridge} left after network rm"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn published_port_reaches_httpd_in_the_netns() {
    let env = Env::new();
    let (net, _bridge) = env.network();
    let nets = [net.clone()];
    let port = free_port();
    let spec = format!("127.0.0.1:{port}:80");
    let ports = [PortMapping::parse(&spec).unwrap()];
    let id = unique("web");
    let att = env.nets.attach(&req(&id, &nets, &ports)).unwrap();
    let during = iptables();
    let ip = att.ips[0].ip.to_string();

    let www = env.dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "hello from the netns\n").unwrap();
    let httpd = Command::new("nsenter")
        .arg(format!(
            "--net={}",
            att.netns_path.as_ref().unwrap().display()
        ))
        .args(["--", "busybox", "httpd", "-f", "-p", "80", "-h"])
        .arg(&www)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let httpd = Kill(httpd);
    let url = format!("http://127.0.0.1:{port}/index.html");
    let mut body = String::new();
    let got = wait_until(Duration::from_secs(10), || {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "2", &url])
            .output()
            .unwrap();
        body = String::from_utf8_lossy(&out.stdout).into_owned();
        out.status.success()
    });
    assert!(
        got && body == "hello from the netns\n",
        "curl {url}: {body:?}"
    );

    // The same host port again: refused before anything is created.
    let id2 = unique("web");
    let err = env
        .nets
        .attach(&req(&id2, &nets, &ports))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "host port {port} is already published by container {id}"
        )),
        "{err}"
    );
    assert!(!env.nets.config().run_dir.join("netns").join(&id2).exists());
    assert!(!env.nets.config().run_dir.join("net").join(&id2).exists());

    drop(httpd);
    env.nets.detach(&id).unwrap();
    assert_no_rules_left(&during, &[&id], &[ip]);
    assert!(
        Command::new("curl")
            .args(["-sS", "--max-time", "1", &url])
            .output()
            .unwrap()
            .status
            .code()
            != Some(0)
    );
    env.nets.remove(&net).unwrap();
}

#[test]
fn port_held_by_a_host_service_is_refused_first() {
    let env = Env::new();
    let (net, bridge) = env.network();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ports = [PortMapping::parse(&format!("127.0.0.1:{port}:80")).unwrap()];
    let id = unique("busy");
    let err = env
        .nets
        .attach(&req(&id, std::slice::from_ref(&net), &ports))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "-p 127.0.0.1:{port}->80/tcp: host port {port} is not available"
        )),
        "{err}"
    );
    assert!(!err.contains('\n'));
    assert!(!env.nets.config().run_dir.join("netns").join(&id).exists());
    assert!(bridge_ports(&bridge).is_empty() && leases(&env, &net).is_empty());
    env.nets.remove(&net).unwrap();
}

#[test]
fn failing_plugin_is_one_error_and_leaves_nothing() {
    let env = Env::new();
    let (net, bridge) = env.network();
    // Break the portmap plugin with a condition iptables rejects: bridge succeeds first and
    // portmap fails half-way, so the rollback must undo both (veth, lease, masquerade and DNAT).
    let path = env
        .nets
        .config()
        .state_dir
        .join("networks")
        .join(format!("{net}.conflist"));
    let mut list: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    list["plugins"][1]["conditionsV4"] = serde_json::json!(["--no-such-option"]);
    std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
    let port = free_port();
    let ports = [PortMapping::parse(&format!("127.0.0.1:{port}:80")).unwrap()];
    let before = iptables();
    let id = unique("bad");
    let err = env
        .nets
        .attach(&req(&id, std::slice::from_ref(&net), &ports))
        .unwrap_err()
        .to_string();
    eprintln!("failing plugin: {err}");
    assert!(
        err.starts_with(&format!("network {net}: plugin portmap: ADD failed")),
        "{err}"
    );
    assert!(
        err.contains("no-such-option") && !err.contains('\n'),
        "{err}"
    );

    assert!(
        bridge_ports(&bridge).is_empty(),
        "veth left: {:?}",
        bridge_ports(&bridge)
    );
    assert!(
        leases(&env, &net).is_empty(),
        "lease left: {:?}",
        leases(&env, &net)
    );
    assert!(
        !env.nets.config().run_dir.join("netns").join(&id).exists(),
        "netns left"
    );
    assert!(
        !env.nets.config().run_dir.join("net").join(&id).exists(),
        "files left"
    );
    assert!(env.nets.inspect(&net).unwrap().containers.is_empty());
    // The rollback ran inside attach: no per-container chain to name, so compare with before
    // (CNI lines only; the plugins' shared chains may be new on a fresh host).
    for line in iptables().difference(&before) {
        let shared = SHARED_CHAINS.iter().any(|c| line.contains(c)) && !line.contains(&id);
        assert!(
            !line.contains("CNI") || shared,
            "iptables line left behind: {line}"
        );
    }
    env.nets.remove(&net).unwrap();
}

#[test]
fn network_in_use_cannot_be_removed() {
    let env = Env::new();
    let (net, bridge) = env.network();
    let id = unique("user");
    env.nets
        .attach(&req(&id, std::slice::from_ref(&net), &[]))
        .unwrap();
    let err = env.nets.remove(&net).unwrap_err().to_string();
    assert_eq!(err, format!("network {net}: in use by container(s) {id}"));
    assert!(link_exists(&bridge));
    env.nets.detach(&id).unwrap();
    env.nets.remove(&net).unwrap();
    assert!(!link_exists(&bridge));
    assert!(matches!(env.nets.inspect(&net), Err(Error::NotFound(_))));
}

fn e<T>(r: Result<T, Error>) -> String {
    r.map(drop).unwrap_err().to_string()
}

#[test]
fn create_ls_inspect_and_bad_input() {
    let env = Env::new();
    let (net, bridge) = env.network();
    let info = env.nets.inspect(&net).unwrap();
    assert!(bridge.starts_with("crt-") && bridge.len() <= 15);
    assert_eq!(info.config.as_ref().unwrap()["cniVersion"], "1.0.0");
    let subnet = info.subnet.clone().unwrap();
    let names: Vec<String> = env
        .nets
        .list()
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["bridge", "host", "none", net.as_str()]);

    assert_eq!(
        e(env.nets.create(&net, None)),
        format!("network {net}: already exists")
    );
    let other = unique("net");
    assert!(e(env.nets.create(&other, Some(&subnet))).contains("overlaps the subnet"));
    assert!(e(env.nets.create(&other, Some("10.213.0.1/24")))
        .starts_with("--subnet \"10.213.0.1/24\": host bits"));
    assert!(e(env.nets.create("bridge", None)).contains("built-in"));
    assert!(e(env.nets.create("bad/name", None)).contains("invalid network name"));
    assert!(e(env.nets.remove("host")).contains("built-in"));
    assert!(matches!(env.nets.remove(&other), Err(Error::NotFound(_))));
    let p = [PortMapping::parse("127.0.0.1:1:1").unwrap()];
    let err = e(env.nets.attach(&req("x1", &["none".to_string()], &p)));
    assert!(
        err.contains("-p: publishing ports needs a bridge network"),
        "{err}"
    );
    assert!(matches!(
        env.nets
            .attach(&req("x2", std::slice::from_ref(&other), &[])),
        Err(Error::NotFound(_))
    ));
    env.nets.remove(&net).unwrap();
}

/// `none`: a namespace of its own with only `lo`, up, 127.0.0.1 on it; brought up by the engine
/// itself, so it works with no CNI plugin installed (an empty plugin path here).
#[test]
fn none_network_has_only_loopback_up_without_plugins() {
    let env = Env::new();
    let mut cfg = env.nets.config().clone();
    let empty = env.dir.join("no-plugins");
    std::fs::create_dir_all(&empty).unwrap();
    cfg.cni_path = vec![empty];
    let nets = Networks::new(cfg);
    let id = unique("none");
    let att = nets.attach(&req(&id, &["none".into()], &[])).unwrap();
    let ns = att.netns_path.clone().unwrap();
    assert!(att.ips.is_empty());
    let ip = |args: &[&str]| {
        let out = Command::new("nsenter")
            .arg(format!("--net={}", ns.display()))
            .arg("ip")
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let links = ip(&["-o", "link"]);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo:") && links.contains(",UP"), "{links}");
    let addrs = ip(&["-o", "-4", "addr", "show", "lo"]);
    assert!(addrs.contains("inet 127.0.0.1/8"), "{addrs}");
    nets.detach(&id).unwrap();
    assert!(!ns.exists());
    assert!(!nets.config().run_dir.join("net").join(&id).exists());
}

#[test]
fn default_network_is_bridge_and_created_on_first_use() {
    let env = Env::new();
    let id = unique("dflt");
    let att = env.nets.attach(&req(&id, &[], &[])).unwrap();
    assert_eq!(att.ips[0].network, "bridge");
    assert_eq!(att.ips[0].ifname, "eth0");
    let info = env.nets.inspect("bridge").unwrap();
    let subnet = Subnet::parse(&info.subnet.clone().unwrap()).unwrap();
    assert_eq!(subnet, env.nets.config().default_subnet);
    assert!(subnet.contains(att.ips[0].ip));
    assert_eq!(
        info.bridge.as_deref(),
        Some(env.nets.config().default_bridge.as_str())
    );
    assert_eq!(info.containers.as_slice(), std::slice::from_ref(&id));
    let bridge = info.bridge.unwrap();
    assert_eq!(bridge_ports(&bridge).len(), 1);
    assert!(e(env.nets.remove("bridge")).contains("built-in"));
    env.nets.detach(&id).unwrap();
    assert!(bridge_ports(&bridge).is_empty());
    assert!(env.nets.inspect("bridge").unwrap().containers.is_empty());
}

#[test]
fn missing_plugin_binaries_are_one_error_and_leave_nothing() {
    let env = Env::new();
    let (net, bridge) = env.network();
    let mut cfg = env.nets.config().clone();
    let empty = env.dir.join("no-plugins");
    std::fs::create_dir_all(&empty).unwrap();
    cfg.cni_path = vec![empty.clone()];
    let nets = Networks::new(cfg);
    let id = unique("noplug");
    let err = e(nets.attach(&req(&id, std::slice::from_ref(&net), &[])));
    assert_eq!(
        err,
        format!(
            "network {net}: plugin bridge: plugin binary not found in {} (install containernetworking-plugins)",
            empty.display()
        )
    );
    assert!(!nets.config().run_dir.join("netns").join(&id).exists());
    assert!(!nets.config().run_dir.join("net").join(&id).exists());
    assert!(bridge_ports(&bridge).is_empty() && leases(&env, &net).is_empty());
}
