"""SystemIO is the only place raw file and socket syscalls live (Docs/architecture.md, "The syscall layer"):
scripts/check-syscalls.py, run by scripts/lint.sh, passes on Sources/ and names file:line for a raw call
anywhere else, without mistaking comments, strings, structs or a target's own methods for one."""
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SCRIPT = os.path.join(ROOT, "scripts", "check-syscalls.py")


def check(sources):
    return subprocess.run([sys.executable, SCRIPT, sources], capture_output=True, text=True, cwd=sources)


def test_sources_make_no_raw_syscall_outside_systemio():
    r = check(os.path.join(ROOT, "Sources"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "check-syscalls: clean" in r.stdout


def test_raw_calls_are_named_by_file_and_line(tmp_path):
    app = tmp_path / "App"
    app.mkdir()
    (app / "A.swift").write_text(
        "\n".join([
            "if mkdir(path, 0o700) != 0 { }",  # 1: a raw call
            "var st = stat()",  # the struct, not the call
            "// unlink(path) in a comment",
            'let text = "stat(path, &st)"',  # in a string
            "x.open(path, O_RDONLY)",  # a method of something else
            "try truncate(to: 10)",  # the target's own method (declared in B.swift)
            "Glibc.close(fd)",  # 7: qualified: always a raw call
            "_ = fcntl(fd, F_GETFL)",  # 8: a socket call
        ]) + "\n")
    (app / "B.swift").write_text("func truncate(to length: Int) { }\n")
    layer = tmp_path / "SystemIO"
    layer.mkdir()
    (layer / "Syscall.swift").write_text("_ = unlink(path)\n")  # the layer itself may
    shim = tmp_path / "CLinuxShims"
    shim.mkdir()
    (shim / "Shim.swift").write_text("_ = unlink(path)\n")  # C targets are not checked
    r = check(str(tmp_path))
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "App/A.swift:1: mkdir(", "App/A.swift:7: Glibc.close(", "App/A.swift:8: fcntl(",
    ]
    assert "3 raw syscall(s) outside Sources/SystemIO" in r.stderr
