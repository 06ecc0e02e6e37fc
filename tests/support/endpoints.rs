//! Remote-looking Docker endpoints in front of the local daemon: a TLS proxy that demands client
//! certificates (`stunnel4`, certificates made with `openssl`; socat's OpenSSL listener breaks
//! on TLS session resumption with client certificates) and an `sshd` on 127.0.0.1 whose
//! only user key is the test's.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The local daemon's socket, which the endpoints forward to.
pub const SOCKET: &str = "/var/run/docker.sock";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what} did not listen on 127.0.0.1:{port}");
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a rig command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `program` is on PATH (or an absolute path that exists).
pub fn have(program: &str) -> bool {
    if program.starts_with('/') {
        return Path::new(program).exists();
    }
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as `docker` wants them:
/// `client/{ca,cert,key}.pem` and `server/{ca,cert,key}.pem`.
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf) {
    let client = dir.join("client");
    let server = dir.join("server");
    std::fs::create_dir_all(&client).unwrap();
    std::fs::create_dir_all(&server).unwrap();
    let ossl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir));
    ossl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, ext) in [("server", "server.ext"), ("client", "client.ext")] {
        ossl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}/key.pem"),
            "-out",
            &format!("{name}.csr"),
        ]);
        ossl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            &format!("{name}/cert.pem"),
        ]);
        std::fs::copy(dir.join("ca.pem"), dir.join(name).join("ca.pem")).unwrap();
    }
    (client, server)
}

/// A TLS listener on 127.0.0.1 that requires a client certificate signed by the test CA and
/// forwards to the daemon's socket. Stopped on drop.
pub struct TlsProxy {
    child: Child,
    /// `tcp://127.0.0.1:PORT`.
    pub host: String,
    /// `ca.pem`, `cert.pem`, `key.pem` for the client.
    pub client_certs: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsProxy {
    /// Start it, or `None` (skip, or fail under CI) when stunnel4 or openssl is missing.
    pub fn start() -> Option<TlsProxy> {
        for tool in ["stunnel4", "openssl"] {
            if !have(tool) {
                super::unavailable(tool, "not installed (.ci/run installs it)");
                return None;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (client, server) = make_certs(dir.path());
        let port = free_port();
        let config = dir.path().join("stunnel.conf");
        std::fs::write(
            &config,
            format!(
                "foreground = yes\npid =\n[docker]\naccept = 127.0.0.1:{port}\nconnect = {SOCKET}\n\
                 cert = {}\nkey = {}\nCAfile = {}\nverifyChain = yes\nrequireCert = yes\n",
                server.join("cert.pem").display(),
                server.join("key.pem").display(),
                server.join("ca.pem").display(),
            ),
        )
        .unwrap();
        let mut child = Command::new("stunnel4")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start stunnel4");
        wait_for_port(port, &mut child, "stunnel4");
        Some(TlsProxy {
            child,
            host: format!("tcp://127.0.0.1:{port}"),
            client_certs: client,
            _dir: dir,
        })
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An sshd on 127.0.0.1 with its own host key, accepting one generated user key, and a `bin/`
/// directory holding an `ssh` that uses that key and trusts that host key (ssh reads
/// `~/.ssh` from the password database, not `$HOME`, so a test cannot point it elsewhere).
pub struct Sshd {
    child: Child,
    /// `ssh://USER@127.0.0.1:PORT`.
    pub host: String,
    /// Put this first on PATH.
    pub bin: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sshd {
    /// Start it, or `None` (skip, or fail under CI) when OpenSSH's server is missing.
    pub fn start() -> Option<Sshd> {
        for tool in ["/usr/sbin/sshd", "ssh", "ssh-keygen"] {
            if !have(tool) {
                super::unavailable(tool, "not installed (.ci/run installs openssh-server)");
                return None;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (key, _) in [("host_key", ()), ("user_key", ())] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key)));
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        let port = free_port();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\n\
                 PidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
                hk = d.join("host_key").display(),
                ak = d.join("authorized_keys").display(),
                d = d.display(),
            ),
        )
        .unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_pub}"),
        )
        .unwrap();
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
                 StrictHostKeyChecking yes\n  BatchMode yes\n",
                d.join("user_key").display(),
                d.join("known_hosts").display()
            ),
        )
        .unwrap();
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let ssh = bin.join("ssh");
        std::fs::write(
            &ssh,
            format!(
                "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
                d.join("ssh_config").display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
        // sshd insists on its privilege-separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let mut child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        wait_for_port(port, &mut child, "sshd");
        Some(Sshd {
            child,
            host: format!("ssh://{user}@127.0.0.1:{port}"),
            bin,
            _dir: dir,
        })
    }

    /// PATH with the test's `ssh` first.
    pub fn path(&self) -> String {
        format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
