"""`imagegate --version` names the commit the binary was built from (Docs/operations.md, "Version and commit"):
every `swift build` in a git checkout embeds it through the GitCommitStamp plugin and scripts/build-commit.sh.
Builds nothing: the binary under test is compared with the checkout it was built in, and the script that
writes the commit is run on copies of the sources (not a checkout, a fresh repository, a dirty one)."""
import os
import re
import shutil
import subprocess

from conftest import BIN, run

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(REPO, "scripts", "build-commit.sh")
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@localhost"}


def checkout_of(binary):
    """The package directory a binary under .build/ was built in (the one holding Package.swift)."""
    d = os.path.dirname(os.path.realpath(binary))
    while d != "/":
        if os.path.basename(d) == ".build" and os.path.isfile(os.path.join(os.path.dirname(d), "Package.swift")):
            return os.path.dirname(d)
        d = os.path.dirname(d)
    return None


def git(cwd, *args):
    return subprocess.run(["git", "-C", cwd, *args], capture_output=True, text=True, env=GIT_ENV)


def expected_commit(checkout):
    """What scripts/build-commit.sh says of `checkout` now: its commit, -dirty when the sources differ."""
    top = git(checkout, "rev-parse", "--show-toplevel")
    if top.returncode != 0 or os.path.realpath(top.stdout.strip()) != os.path.realpath(checkout):
        return "unknown commit"
    head = git(checkout, "rev-parse", "--short=12", "HEAD").stdout.strip()
    # `status`, not `diff`: diff would refresh the checkout's index, an input of the build's commit step.
    dirty = git(checkout, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no", "--", "Sources",
                "Plugins", "Package.swift").stdout != ""
    return head + ("-dirty" if dirty else "")


def stamp(package, tmp_path):
    """Runs the plugin's script on `package` and returns the commit text of the Swift file it writes."""
    out = tmp_path / "GeneratedCommit.swift"
    r = subprocess.run(["/bin/sh", SCRIPT, str(out), str(package)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = re.search(r'func generatedCommit\(\) -> String \{ "([^"]*)" \}', out.read_text())
    assert m, out.read_text()
    return m.group(1)


def test_version_names_the_commit_of_the_checkout_it_was_built_in():
    out = run([BIN, "--version"]).stdout
    m = re.fullmatch(r"imagegate (\d+\.\d+\.\d+) \((.+)\)\n", out)
    assert m, out
    checkout = checkout_of(BIN)
    assert checkout, f"{BIN} is not under a package's .build directory"
    want = expected_commit(checkout)
    if want != "unknown commit":
        assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?", want), want
    # A mismatch after editing or committing without rebuilding means the binary is stale: run swift build.
    assert m.group(2) == want, f"{BIN} says {m.group(2)!r}, its checkout {checkout} is at {want!r}"


def test_the_script_says_unknown_commit_outside_a_checkout_and_dirty_for_changed_sources(tmp_path):
    # A source tarball: the repository's files without .git, in a directory that is no checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("Package.swift", "Sources", "Plugins", "scripts"):
        p = os.path.join(REPO, name)
        (shutil.copytree if os.path.isdir(p) else shutil.copy)(p, src / name)
    (tmp_path / "stamps").mkdir()
    assert stamp(src, tmp_path / "stamps") == "unknown commit"

    # The same tarball unpacked inside another repository is still not a checkout of ImageGate.
    assert git(str(tmp_path), "init", "-q").returncode == 0
    assert git(str(tmp_path), "add", "-A").returncode == 0
    assert git(str(tmp_path), "commit", "-qm", "outer").returncode == 0
    assert stamp(src, tmp_path / "stamps") == "unknown commit"

    # Its own repository: the commit; changed sources add -dirty, a changed document does not.
    assert git(str(src), "init", "-q").returncode == 0
    assert git(str(src), "add", "-A").returncode == 0
    assert git(str(src), "commit", "-qm", "first").returncode == 0
    head = git(str(src), "rev-parse", "--short=12", "HEAD").stdout.strip()
    assert stamp(src, tmp_path / "stamps") == head
    # A touched but unchanged source is clean, and the build must not change the checkout it describes: `git
    # diff` would refresh the index's stat data here (`git status --no-optional-locks` does not).
    index_before = os.stat(src / ".git" / "index").st_mtime_ns
    os.utime(src / "Package.swift")
    assert stamp(src, tmp_path / "stamps") == head
    assert os.stat(src / ".git" / "index").st_mtime_ns == index_before
    (src / "NOTES.md").write_text("not compiled\n")
    assert stamp(src, tmp_path / "stamps") == head
    with open(src / "Sources" / "GateCore" / "Clock.swift", "a") as f:
        f.write("\n// an edit\n")
    assert stamp(src, tmp_path / "stamps") == head + "-dirty"


def test_the_script_rewrites_its_file_only_when_the_commit_changes(tmp_path):
    out = tmp_path / "GeneratedCommit.swift"
    subprocess.run(["/bin/sh", SCRIPT, str(out), REPO], check=True)
    before = os.stat(out).st_mtime_ns
    os.utime(out, ns=(before - 10**9, before - 10**9))  # so a rewrite could not go unseen within one tick
    subprocess.run(["/bin/sh", SCRIPT, str(out), REPO], check=True)
    assert os.stat(out).st_mtime_ns == before - 10**9
