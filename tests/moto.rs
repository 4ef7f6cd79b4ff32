//! moto's server with the Config extension (`moto_config_ext.py`), on a free port of
//! 127.0.0.1: one shared by the Lambda tests, one each for the periodic tests and the bench.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

pub(crate) struct Moto {
    pub(crate) endpoint: String,
    child: Child,
}

impl Moto {
    /// A moto server of its own (the periodic tests: their counts are exact only when nothing
    /// else records resources in the account). It stops when dropped, or with the test process.
    pub(crate) fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/moto_config_ext.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs tests/moto_config_ext.py (pip install 'moto[server]')");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("moto starts");
        assert_eq!(line.trim(), "ready", "moto did not start: {line}");
        Moto { endpoint: format!("http://127.0.0.1:{port}"), child }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
