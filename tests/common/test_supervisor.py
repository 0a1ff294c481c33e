"""run_portal's supervisor, with real child processes: a worker or beat that exits is started
again (bounded), the web process exiting stops everything, and stop() terminates the children."""

from __future__ import annotations

import sys
import threading

from apps.common.supervisor import Supervisor

PY = sys.executable
SLEEP = [PY, "-c", "import time; time.sleep(60)"]


def _exits(code: int) -> list[str]:
    return [PY, "-c", f"import sys; sys.exit({code})"]


def _counting(path) -> list[str]:
    """Appends a line to ``path`` each time it starts, then exits 1 (a crashing worker)."""
    return [PY, "-c", f"open({str(path)!r}, 'a').write('x'); raise SystemExit(1)"]


def test_a_worker_that_exits_is_started_again_and_the_rest_keep_running(tmp_path):
    said: list[str] = []
    starts = tmp_path / "starts"
    sup = Supervisor(
        {"web": SLEEP, "worker": _counting(starts)},
        max_restarts=2,
        window=60,
        backoff=0.01,
        say=said.append,
    )
    sup.start()
    try:
        reason = sup.run(poll=0.05)
        web = sup.children["web"].process
        assert web.poll() is None  # the web process was never touched while it ran
    finally:
        sup.terminate(grace=5)
    assert starts.read_text() == "xxx"  # started once, restarted twice, then given up
    assert said[:2] == ["worker exited with 1; starting it again."] * 2
    assert reason == (
        "worker exited with 1 and was restarted 2 times in 60 s; stopping the portal "
        "(see its log above)."
    )
    assert web.poll() is not None  # and then everything stops


def test_restarts_older_than_the_window_do_not_count(tmp_path):
    now = [0.0]
    sup = Supervisor(
        {"beat": _exits(2)},
        max_restarts=1,
        window=10,
        backoff=0,
        say=lambda _: None,
        clock=lambda: now[0],
    )
    sup.start()
    try:
        for tick in range(4):  # one exit every 20 s: never two inside one window
            sup.children["beat"].process.wait(timeout=10)
            now[0] = tick * 20.0
            sup.check()
            assert not sup.stopping
        assert len(sup.children["beat"].restarts) == 1
    finally:
        sup.terminate(grace=5)


def test_the_web_process_exiting_stops_the_portal():
    said: list[str] = []
    sup = Supervisor({"web": _exits(3), "worker": SLEEP}, say=said.append, backoff=0)
    sup.start()
    try:
        assert sup.run(poll=0.05) == "web exited with 3; stopping the portal."
    finally:
        sup.terminate(grace=5)
    assert sup.children["worker"].process.poll() is not None


def test_stop_terminates_every_child():
    sup = Supervisor({"web": SLEEP, "worker": SLEEP, "beat": SLEEP}, say=lambda _: None)
    sup.start()
    threading.Timer(0.3, sup.stop).start()
    assert sup.run(poll=0.05) == ""
    sup.terminate(grace=5)
    assert all(c.process.poll() is not None for c in sup.children.values())
