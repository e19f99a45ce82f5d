"""A semester on a real JupyterHub, with nbgrader's filesystem exchange: what README's "On JupyterHub" describes.

Runs as root (it creates local system users) and needs Debian's chromium, bubblewrap and npm's
configurable-http-proxy; it skips, naming what is missing, where one is (and CI, DLCOURSE_CI=1, fails then).

1. Local users dlc-instructor, dlc-student1, dlc-student2 (PAM passwords set with chpasswd, homes 0700); an
   exchange root with the sticky bit (1777); nbgrader's configuration for everyone in a directory on the
   single-user servers' JUPYTER_CONFIG_PATH; JupyterHub (PAM, LocalProcessSpawner) on free local ports.
2. The instructor (CLI, as that user): generate_assignment and release_assignment from this repository's course.
3. Student 1 in Chromium: logs in, fetches ps1_backprop in the Assignments list, types every answer into the
   notebook (the linear layer without its bias: catalogued mistake ``linear_no_bias``), saves, validates, submits.
   Student 2 fetches and submits the blank release with the nbgrader CLI.
4. The instructor: collect, ``dlcourse grade`` (sandboxed with bubblewrap as the instructor), generate_feedback,
   release_feedback.
5. Student 1 in Chromium fetches the feedback and opens it: the linear part 0 points with the named mistake,
   every other part full points, 16 of 18 in total.
6. Student 2 tries, with plain file operations and nbgrader's commands, to reach student 1's submission and
   feedback, the instructor's course and the released assignment (``EXPECTED_REACH``), and submits in student
   1's name, which the instructor's next collect reports.

Teardown (always): stops the hub, the proxy and every process of the three users, deletes the users and their
homes, removes the temporary directory and restores the modes of directories opened for traversal.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from local_servers import free_port, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
# The venv running the tests (not resolved: bin/python is a link to the system's interpreter)
VENV_BIN = Path(sys.executable).parent
ASSIGNMENT = "ps1_backprop"
COURSE_ID = "dlcourse"
INSTRUCTOR, STUDENT1, STUDENT2 = "dlc-instructor", "dlc-student1", "dlc-student2"
USERS = (INSTRUCTOR, STUDENT1, STUDENT2)
# PATH for the users' servers and commands: the venv first (nbgrader calls alembic by name)
USER_PATH = f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"
PROXY = shutil.which("configurable-http-proxy")
BWRAP = shutil.which("bwrap")
# Student 1 leaves the bias out of the linear layer: a catalogued mistake whose feedback names it
WRONG_PART = "linear"
WRONG_LINE = ("return x @ W + b, (x, W)", "return x @ W, (x, W)")
WRONG_MISTAKE = ("linear_no_bias", "You left out the bias")

pytestmark = pytest.mark.slow


def missing_components() -> list[str]:
    from test_browser import CHROMIUM

    missing = []
    if os.geteuid() != 0:
        missing.append("root (the test creates local users)")
    if PROXY is None:
        missing.append("configurable-http-proxy (npm install -g configurable-http-proxy)")
    if CHROMIUM is None:
        missing.append("chromium (apt-get install -y chromium)")
    if BWRAP is None:
        missing.append("bubblewrap (apt-get install -y bubblewrap)")
    for tool in ("useradd", "userdel", "chpasswd", "runuser"):
        if shutil.which(tool) is None:
            missing.append(tool)
    return missing


# ---------------------------------------------------------------------------------------------- users and processes


def user_pids(uid: int) -> list[int]:
    """The processes running as ``uid`` (the test's own users: their servers and kernels)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
    return pids


def stop_processes_of(user: str) -> None:
    """SIGTERM, then SIGKILL, the process group of every process of ``user`` (one of the test's users)."""
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = user_pids(uid)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), sig)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while user_pids(uid) and time.monotonic() < deadline:
            time.sleep(0.2)


def delete_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return
    stop_processes_of(user)
    subprocess.run(["userdel", "-r", user], capture_output=True, check=False)


def create_user(user: str, password: str) -> Path:
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", user], check=True, capture_output=True)
    subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True, capture_output=True)
    home = Path(pwd.getpwnam(user).pw_dir)
    # Debian's useradd makes homes 0755 (HOME_MODE unset, UMASK 022): any user could read another's notebooks,
    # nbgrader cache (the submission secret that names the released feedback) and the instructor's course.
    home.chmod(0o700)
    return home


# The modes traversable() changed, kept on disk while they are changed: a run killed before its finally (SIGKILL)
# leaves this file, and the next run restores those modes first.
MODES_LEDGER = Path(tempfile.gettempdir()) / "dlcourse-jupyterhub-test-modes.json"


def restore_modes_left_by_a_killed_run(ledger: Path = MODES_LEDGER) -> None:
    if ledger.exists():
        for directory, mode in json.loads(ledger.read_text()):
            with contextlib.suppress(FileNotFoundError):
                Path(directory).chmod(mode)
        ledger.unlink()


@contextlib.contextmanager
def traversable(paths: list[Path], ledger: Path = MODES_LEDGER) -> Iterator[list[tuple[Path, int]]]:
    """Add only the traverse bit (o+x) to the ancestors of ``paths`` that lack it, so that other users can reach
    the venv and the checkout (CI may keep it under /root, 0700); restore their exact modes afterwards."""
    restore_modes_left_by_a_killed_run(ledger)
    changed: list[tuple[Path, int]] = []
    try:
        for path in paths:
            for directory in [*reversed(path.parents), path]:
                mode = directory.stat().st_mode
                if not mode & stat.S_IXOTH and directory not in [d for d, _ in changed]:
                    changed.append((directory, stat.S_IMODE(mode)))
                    ledger.write_text(json.dumps([[str(d), m] for d, m in changed]))  # before the change
                    directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        yield changed
    finally:
        for directory, mode in reversed(changed):
            directory.chmod(mode)
        ledger.unlink(missing_ok=True)


def test_jupyterhub_test_restores_modes_even_after_a_killed_run(tmp_path):
    closed = tmp_path / "closed"
    (closed / "inside").mkdir(parents=True)
    closed.chmod(0o700)
    ledger = tmp_path / "ledger.json"
    with traversable([closed / "inside"], ledger) as changed:
        assert stat.S_IMODE(closed.stat().st_mode) == 0o701 and (closed, 0o700) in changed and ledger.exists()
    assert stat.S_IMODE(closed.stat().st_mode) == 0o700 and not ledger.exists()
    closed.chmod(0o701)  # as a run killed inside the with block leaves it, with its ledger
    ledger.write_text(json.dumps([[str(closed), 0o700]]))
    with traversable([], ledger):
        assert stat.S_IMODE(closed.stat().st_mode) == 0o700 and not ledger.exists()


# ---------------------------------------------------------------------------------------------- the deployment


@dataclass
class Hub:
    url: str
    passwords: dict[str, str]
    homes: dict[str, Path]
    exchange: Path
    config_dir: Path
    course: Path
    log: Path

    def env(self, user: str) -> list[str]:
        """``env -i ...``: a clean environment for ``user`` with the PATH and nbgrader configuration that the
        single-user servers get."""
        return ["env", "-i", f"HOME={self.homes[user]}", f"USER={user}", f"LOGNAME={user}", "LANG=C.UTF-8",
                f"PATH={USER_PATH}", f"JUPYTER_CONFIG_PATH={self.config_dir}"]

    def run_as(self, user: str, command: list[str], cwd: Path | None = None, check: bool = True,
               timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(["runuser", "-u", user, "--", *self.env(user), *command],
                                cwd=cwd or self.homes[user], capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"as {user}: {' '.join(command)} exited {result.returncode}:\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def nbgrader(self, user: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cwd = self.course if user == INSTRUCTOR else self.homes[user]
        return self.run_as(user, ["nbgrader", *args], cwd=cwd, check=check)


NBGRADER_CONFIG = '''\
"""nbgrader for every user of the hub (on the single-user servers' JUPYTER_CONFIG_PATH)."""
c = get_config()  # noqa: F821
c.Exchange.root = {exchange!r}
c.CourseDirectory.course_id = {course_id!r}
# Validate in the Assignments list runs the whole notebook with the student's configuration: the course's cell
# time limit (nbgrader_config.py: 180 s; nbgrader's default is 30 s) for the training loops there too
c.Execute.timeout = 180
'''

HUB_CONFIG = '''\
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {proxy_pid!r}
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {cookie!r}
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {{"JUPYTER_CONFIG_PATH": {config_dir!r}, "PATH": {path!r}}}
c.Spawner.args = ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
'''


def write_course(hub: Hub) -> None:
    """The instructor's course directory from this repository's course, owned by the instructor."""
    hub.course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", hub.course)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, hub.course / "solutions" / ASSIGNMENT)
    owner = pwd.getpwnam(INSTRUCTOR)
    for path in [hub.course, *hub.course.rglob("*")]:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def launch_hub(state: Path, config_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """JupyterHub in a process group of its own (its proxy writes ``state/proxy.pid``); returns it and its URL."""
    port, hub_port, api_port = free_port(), free_port(), free_port()
    config = state / "jupyterhub_config.py"
    config.write_text(HUB_CONFIG.format(
        port=port, hub_port=hub_port, api_port=api_port, proxy=PROXY, proxy_pid=str(state / "proxy.pid"),
        state=state, cookie=str(state / "jupyterhub_cookie_secret"), users=set(USERS),
        singleuser=str(VENV_BIN / "jupyterhub-singleuser"), config_dir=str(config_dir), path=USER_PATH))
    with open(log_path, "w") as log:
        hub = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(config)], cwd=state, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               env=dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"))
    return hub, f"http://127.0.0.1:{port}"


def wait_for_hub(hub: subprocess.Popen, url: str, log_path: Path) -> None:
    if not wait_until_answering(f"{url}/hub/api", hub, timeout_s=90):
        raise AssertionError(f"JupyterHub did not start:\n{log_path.read_text()[-3000:]}")


def stop_hub(hub: subprocess.Popen, proxy_pid: Path) -> None:
    """The hub's process group, then the proxy (JupyterHub starts it in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(hub.pid, signal.SIGTERM)
    try:
        hub.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(hub.pid, signal.SIGKILL)
        hub.wait(timeout=10)
    with contextlib.suppress(OSError, ValueError):
        pid = int(proxy_pid.read_text().strip())
        if "configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            os.killpg(os.getpgid(pid), signal.SIGKILL)


@pytest.fixture
def hub(tmp_path) -> Iterator[Hub]:
    if missing := missing_components():
        pytest.skip(f"missing: {', '.join(missing)}")
    for user in USERS:  # left over by a run that crashed
        delete_user(user)
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hub-"))  # under /tmp: pytest's tmp_path is root's only (0700)
    state = tmp_path / "hub"  # the hub's database, cookie secret and proxy's pid: root's only
    hub_process = None
    try:
        # the checkout, the venv and the interpreter it links to (a pyenv build under /root, say)
        with traversable([ROOT, VENV_BIN, Path(os.path.realpath(sys.executable)).parent, Path(sys.base_prefix)]) \
                as opened:
            base.chmod(0o755)
            passwords = {user: secrets.token_urlsafe(12) for user in USERS}
            homes = {user: create_user(user, passwords[user]) for user in USERS}
            state.mkdir()
            config_dir = base / "jupyter_config"
            config_dir.mkdir()
            # nbgrader's docs: an exchange root every user can write (ugo+rw); the sticky bit added so that only a
            # directory's owner can delete or rename it (without it a student can rename the instructor's course
            # and put a course of their own in its place). nbgrader compares only the 0777 bits, so it stays.
            exchange = base / "exchange"
            exchange.mkdir()
            exchange.chmod(0o1777)
            (config_dir / "nbgrader_config.py").write_text(
                NBGRADER_CONFIG.format(exchange=str(exchange), course_id=COURSE_ID))
            hub_log = tmp_path / "jupyterhub.log"
            deployment = Hub("", passwords, homes, exchange, config_dir, homes[INSTRUCTOR] / "course", hub_log)
            # one user stands for all three: they differ only in their homes
            ran = deployment.run_as(STUDENT1, ["python", "-c", "import dlcourse, nbgrader"], check=False)
            assert ran.returncode == 0, (
                f"a user cannot run the venv's python with dlcourse ({VENV_BIN}; opened for traversal: "
                f"{[str(d) for d, _ in opened]}):\n{ran.stderr[-2000:]}")
            write_course(deployment)
            hub_process, deployment.url = launch_hub(state, config_dir, hub_log)
            wait_for_hub(hub_process, deployment.url, hub_log)
            yield deployment
    finally:
        if hub_process is not None:
            stop_hub(hub_process, state / "proxy.pid")
        for user in USERS:
            delete_user(user)
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- exchange safety

# What student 2 can do to student 1's work, the instructor's course and the released assignment, with the
# settings of this deployment (homes 0700, exchange root 1777, inbound +t). Each entry: (description, allowed).
# With nbgrader 0.9.6's defaults (exchange root 0777, inbound 2733) and Debian's homes (0755) the same run measured
# four more allowed: rename_submission, read_home, read_course, rename_course. README's "On JupyterHub" has the table.
EXPECTED_REACH = {
    "list_inbound": ("list the exchange's inbound (everyone's submissions)", False),
    "list_inbound_nbgrader": ("see student 1's submission in `nbgrader list --inbound`", False),
    "read_submission": ("read student 1's submitted notebook, its name known", True),
    "write_submission": ("write into student 1's submitted notebook, its name known", False),
    "replace_submission": ("replace student 1's submitted notebook by a rename, its name known", True),
    "rename_submission": ("rename (remove) student 1's submission folder, its name known", False),
    "submit_as_student1": ("submit in student 1's name (`nbgrader submit --student dlc-student1`)", True),
    "list_feedback": ("list the exchange's released feedback", False),
    "read_feedback": ("read student 1's released feedback, its name (a hash of a secret) known", True),
    "read_home": ("read student 1's home (notebook, nbgrader cache with the feedback's secret)", False),
    "read_course": ("read the instructor's course (solutions with hidden tests, gradebook)", False),
    "write_release": ("write into the released assignment", False),
    "rename_release": ("rename the released assignment", False),
    "rename_course": ("rename the course's exchange folder (and put a course of one's own there)", False),
}


def reach_of_student2(hub: Hub) -> dict[str, bool]:
    """Try, as student 2, every operation of ``EXPECTED_REACH``; returns operation -> allowed. Run after the
    semester: it damages student 1's submission (already collected)."""
    from nbgrader.utils import notebook_hash

    course = hub.exchange / COURSE_ID
    inbound, feedback, release = course / "inbound", course / "feedback", course / "outbound" / ASSIGNMENT
    [submission] = inbound.glob(f"{STUDENT1}+{ASSIGNMENT}+*")  # its name as only root (and student 1) know it
    # release_feedback names each file by a hash of the submission's secret (in the submission and the student's
    # nbgrader cache): student 2 would have to know the secret
    secret = (submission / "submission_secret.txt").read_text()
    released_feedback = feedback / f"{notebook_hash(secret=secret, notebook_id=ASSIGNMENT)}.html"
    notebook = f"{ASSIGNMENT}.ipynb"

    def shell(command: str) -> bool:
        return hub.run_as(STUDENT2, ["sh", "-c", command], check=False).returncode == 0

    listed = hub.nbgrader(STUDENT2, "list", "--inbound", check=False)
    reach = {
        "list_inbound": shell(f"ls '{inbound}' >/dev/null"),
        "list_inbound_nbgrader": STUDENT1 in listed.stdout + listed.stderr,
        "read_submission": shell(f"cat '{submission / notebook}' >/dev/null"),
        "write_submission": shell(f"echo forged >> '{submission / notebook}'"),
        "replace_submission": shell(f"echo '{{}}' > '{submission}/forged' && mv -f '{submission}/forged' "
                                    f"'{submission / notebook}'"),
        "rename_submission": shell(f"mv '{submission}' '{inbound}/gone'"),
    }
    # before the renames below, which (where allowed) would leave nothing to submit to
    forged = hub.nbgrader(STUDENT2, "submit", ASSIGNMENT, "--student", STUDENT1, check=False)
    reach |= {
        "submit_as_student1": forged.returncode == 0,
        "list_feedback": shell(f"ls '{feedback}' >/dev/null"),
        "read_feedback": shell(f"cat '{released_feedback}' >/dev/null"),
        "read_home": shell(f"cat '{hub.homes[STUDENT1] / ASSIGNMENT / notebook}' >/dev/null"),
        "read_course": shell(f"cat '{hub.course / 'solutions' / ASSIGNMENT / notebook}' >/dev/null"),
        "write_release": shell(f"echo forged >> '{release / notebook}'"),
        "rename_release": shell(f"mv '{release}' '{release}.gone'"),
        "rename_course": shell(f"mv '{course}' '{course}.gone'"),
    }
    return reach


# ---------------------------------------------------------------------------------------------- the browser


def log_in(page, hub: Hub, user: str) -> None:
    """Log in at /hub/login with the user's PAM password; the hub spawns their server and JupyterLab opens."""
    page.goto(f"{hub.url}/hub/login", timeout=60_000)
    page.fill("#username_input", user)
    page.fill("#password_input", hub.passwords[user])
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=240_000)
    page.get_by_role("menuitem", name="Nbgrader", exact=True).wait_for(timeout=120_000)


def open_assignment_list(page) -> None:
    """Nbgrader > Assignment List: nbgrader's lab extension, served by its assignment_list server extension."""
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Assignment List", exact=True).click()
    page.locator("#nbgrader-assignment-list #released_assignments_list").wait_for(timeout=60_000)


def assignment_row(page, section: str):
    """The row of ASSIGNMENT in one of the Assignments list's sections (released, fetched, submitted)."""
    return page.locator(f"#{section}_assignments_list > .list_item", has_text=ASSIGNMENT).first


def answers() -> dict[str, str]:
    """What student 1 types: each answer cell of the solution without nbgrader's solution markers, and
    ``WRONG_PART`` with ``WRONG_LINE`` (a catalogued mistake)."""
    notebook = json.loads((ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    typed = {}
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            lines = "".join(cell["source"]).split("\n")
            code = "\n".join(line for line in lines
                             if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
            typed[meta["grade_id"]] = code
    assert WRONG_LINE[0] in typed[WRONG_PART], f"the solution's {WRONG_PART} cell changed: update WRONG_LINE"
    typed[WRONG_PART] = typed[WRONG_PART].replace(*WRONG_LINE)
    return typed


def saved_answers(notebook_path: Path, grade_ids) -> dict[str, str]:
    notebook = json.loads(notebook_path.read_text())
    return {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in notebook["cells"]
            if cell["metadata"].get("nbgrader", {}).get("grade_id") in grade_ids}


def type_answers(page, notebook_path: Path, typed: dict[str, str]) -> None:
    """Replace each answer cell's text (in the page's cell editor) with ``typed[grade_id]``, save, and wait until
    the file on disk has them (read as root, only to know that the save went through)."""
    notebook = json.loads(notebook_path.read_text())
    grade_ids = [cell["metadata"].get("nbgrader", {}).get("grade_id") for cell in notebook["cells"]]
    cells = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")
    for index, grade_id in enumerate(grade_ids):
        if grade_id in typed:
            editor = cells.nth(index).locator(".cm-content")
            editor.scroll_into_view_if_needed()
            editor.click()
            page.keyboard.press("Control+A")
            # one input event per answer: no auto-indent or bracket closing on the way in
            page.keyboard.insert_text(typed[grade_id])
            page.keyboard.press("Escape")
    page.keyboard.press("Control+S")
    deadline = time.monotonic() + 60
    while (saved := saved_answers(notebook_path, typed)) != typed:
        assert time.monotonic() < deadline, f"the saved notebook differs from what was typed: {saved}"
        time.sleep(0.3)


def part_points() -> dict[str, float]:
    """The points of every graded part (test cell) of the assignment."""
    notebook = json.loads((ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    return {meta["grade_id"]: float(meta["points"]) for cell in notebook["cells"]
            if (meta := cell["metadata"].get("nbgrader", {})).get("grade")}


def test_a_semester_on_jupyterhub(hub, tmp_path):
    from test_browser import chromium_page

    extensions = hub.run_as(STUDENT1, ["jupyter", "server", "extension", "list"])
    for extension in ("assignment_list", "validate_assignment", "course_list"):
        assert re.search(rf"nbgrader\.server_extensions\.{extension}\s+\S*enabled", extensions.stdout
                         + extensions.stderr), f"nbgrader's {extension} server extension is not enabled"
    labextensions = hub.run_as(STUDENT1, ["jupyter", "labextension", "list"])
    assert re.search(r"@jupyter/nbgrader v\S+ \S*enabled", labextensions.stdout + labextensions.stderr)

    hub.nbgrader(INSTRUCTOR, "generate_assignment", ASSIGNMENT)
    hub.nbgrader(INSTRUCTOR, "release_assignment", ASSIGNMENT)
    # the sticky bit on inbound: a student may add a submission but not rename or delete another's
    hub.run_as(INSTRUCTOR, ["chmod", "+t", str(hub.exchange / COURSE_ID / "inbound")])
    typed = answers()
    shots = tmp_path / "screenshots"
    print(f"JupyterHub's log: {hub.log}")
    with chromium_page(shots) as page:
        page.set_default_timeout(120_000)  # a spawn or a click on a loaded 2-core machine
        log_in(page, hub, STUDENT1)
        open_assignment_list(page)
        assignment_row(page, "released").get_by_role("button", name="Fetch").click()
        fetched = assignment_row(page, "fetched")
        fetched.locator("a.assignment-notebooks-link").click()
        fetched.locator(".nested_list_item a", has_text=ASSIGNMENT).click()
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60_000)
        notebook_path = hub.homes[STUDENT1] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        type_answers(page, notebook_path, typed)

        page.get_by_role("tab", name="Assignments").click()
        fetched = assignment_row(page, "fetched")
        fetched.locator(".nested_list_item").get_by_role("button", name="Validate").click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=300_000)
        validation = dialog.inner_text()
        assert "The following cell failed" in validation and WRONG_MISTAKE[1] in validation, validation
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        fetched.get_by_role("button", name="Submit").click()
        assignment_row(page, "submitted").wait_for(timeout=60_000)

        # student 2 hands in the blank release with nbgrader's CLI: a second submission in the exchange
        hub.nbgrader(STUDENT2, "fetch_assignment", ASSIGNMENT)
        hub.nbgrader(STUDENT2, "submit", ASSIGNMENT)

        hub.nbgrader(INSTRUCTOR, "collect", ASSIGNMENT)
        graded = hub.run_as(INSTRUCTOR, ["dlcourse", "grade", ASSIGNMENT, "--quiet"], cwd=hub.course)
        hub.nbgrader(INSTRUCTOR, "generate_feedback", ASSIGNMENT)
        hub.nbgrader(INSTRUCTOR, "release_feedback", ASSIGNMENT)

        page.locator("#refresh_assignments_list").click()
        submitted = assignment_row(page, "submitted")
        submitted.get_by_role("button", name="Fetch Feedback").click()
        submitted.get_by_text("(view feedback)").click()  # the file browser goes to the fetched feedback
        page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.html").dblclick()
        feedback = page.frame_locator(".jp-HTMLViewer iframe").locator("body")
        feedback.locator(".nbgrader_cell .panel-heading").first.wait_for(timeout=60_000)
        page.screenshot(path=str(shots / "feedback.png"))
        headings = feedback.locator(".nbgrader_cell .panel-heading").all_inner_texts()
        wrong_output = feedback.locator(f"[id='cell-id={WRONG_PART}_tests'] .output_error").inner_text()
        feedback_text = feedback.inner_text()

    assert "plain-subprocess" not in graded.stdout + graded.stderr, graded.stdout + graded.stderr
    result = json.loads((hub.course / "dlcourse_grades" / ASSIGNMENT / "results" / f"{STUDENT1}.json").read_text())
    assert [notebook["sandbox"] for notebook in result["notebooks"]] == ["bwrap"], result["notebooks"]
    mistakes = {part["grade_id"]: part.get("mistake") for part in result["notebooks"][0]["parts"]}
    assert mistakes[f"{WRONG_PART}_tests"] == WRONG_MISTAKE[0], mistakes

    scores = {}
    for heading in headings:
        if match := re.search(r"Grade cell: (\S+)\s+Score: ([\d.]+) / ([\d.]+)", heading):
            scores[match[1]] = float(match[2])
    points = part_points()
    expected = {grade_id: 0.0 if grade_id == f"{WRONG_PART}_tests" else value for grade_id, value in points.items()}
    assert scores == expected, headings
    assert WRONG_MISTAKE[1] in wrong_output, wrong_output
    assert f"Score: {sum(expected.values()):.1f} / {sum(points.values()):.1f}" in feedback_text  # 16.0 / 18.0

    reach = reach_of_student2(hub)
    assert reach == {name: allowed for name, (_, allowed) in EXPECTED_REACH.items()}, {
        EXPECTED_REACH[name][0]: ("allowed" if allowed else "denied") for name, allowed in reach.items()
        if allowed != EXPECTED_REACH[name][1]}
    # nbgrader's only defence against a submission in another's name: collect compares the folder's owner
    collected = hub.nbgrader(INSTRUCTOR, "collect", "--update", ASSIGNMENT)
    assert f"claims to be submitted by {STUDENT1} but is owned by {STUDENT2}" in collected.stdout + collected.stderr
