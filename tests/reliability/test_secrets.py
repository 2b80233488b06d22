"""After a faulty run (YouTube answering 5xx), the API key and the proxy credentials are
nowhere: not in the database, the queue, the log, the commands' output, config show, jobs
show, or the metrics. (Against the simulator, web_base_url's rewriting adapter talks to it
directly, so the proxy settings are carried, logged and shown, but not dialled.)"""

from __future__ import annotations

import os
import subprocess
import urllib.request
from pathlib import Path

from tests.jobs_helpers import sim_environ
from tubesensei.sim import SimConfig, running_simulator

API_KEY = "AIzaChaosKey1234567890abcdef"
PROXY_USER = "proxyuser8271"
PROXY_PASSWORD = "proxyPass98765zz"
SECRETS = (API_KEY, PROXY_USER, PROXY_PASSWORD)


def test_no_secret_in_any_artefact_of_a_faulty_run(tubesensei_exe, tmp_path: Path) -> None:
    with running_simulator(SimConfig(seed=12, channels=1, videos_per_channel=12,
                                     error_rate=0.3)) as sim:
        data = tmp_path / "data"
        env = {**os.environ, **sim_environ(sim.base_url, data),
               "TUBESENSEI_YOUTUBE__API_KEY": API_KEY,
               "TUBESENSEI_YOUTUBE__PROXY_HTTP_URL":
                   f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:9",
               "TUBESENSEI_YOUTUBE__PROXY_HTTPS_URL":
                   f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:9",
               "TUBESENSEI_LIMITS__MAX_ATTEMPTS": "2",
               "TUBESENSEI_LIMITS__BLOCKED_COOLDOWN_SECONDS": "0.2",
               "TUBESENSEI_LOGGING__LEVEL": "DEBUG"}

        def run(*args: str) -> str:
            done = subprocess.run([*tubesensei_exe, *args], env=env, capture_output=True,
                                  text=True, timeout=300)
            return done.stdout + done.stderr

        outputs = [
            run("enqueue", "channel", sim.world.channels[0].handle),
            run("run-consumer", "--burst", "--burst-wait", "1", "--workers", "3",
                "--no-metrics"),
            run("config", "show"), run("config", "show", "--json"), run("config", "check"),
            run("jobs", "list", "--json"), run("stats", "--json"), run("videos", "list"),
        ]
        ids = [line.split()[0] for line in run("jobs", "list").splitlines()
               if line.strip()[:1].isdigit()]
        outputs += [run("jobs", "show", i, "--json") for i in ids[:20]]
        consumer = subprocess.Popen([*tubesensei_exe, "run-consumer", "--metrics-port", "0"],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        try:
            port = None
            for line in consumer.stderr:  # type: ignore[union-attr]
                outputs.append(line)
                if '"consumer started"' in line:
                    port = int(line.split('"metrics_port": ')[1].split(",")[0].rstrip("}"))
                    break
            assert port
            outputs.append(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                  timeout=10).read().decode())
        finally:
            consumer.send_signal(2)
            out, err = consumer.communicate(timeout=60)
            outputs += [out, err]

    burst = outputs[1]
    assert "job will retry" in burst or "job failed" in burst  # it was a faulty run
    for secret in SECRETS:
        for text in outputs:
            assert secret not in text
        for path in data.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret} in {path}"
