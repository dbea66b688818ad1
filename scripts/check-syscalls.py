#!/usr/bin/env python3
"""Fails (exit 1) when Swift code outside SystemIO calls a raw file or socket syscall, naming file:line and the
call. SystemIO is the one syscall layer (Docs/architecture.md, "The syscall layer"): its wrappers retry EINTR
once, keep the errno as a SystemError and go through the fault seam tests use, so a call made elsewhere escapes
all three. Run by scripts/lint.sh; `scripts/check-syscalls.py DIR` checks another Sources tree.

A bare call (`stat(path, &st)`, `unlink(p)`) counts unless the same target declares a function or enum case of
that name (a method such as `func truncate(to:)` called on itself); `Glibc.name(` always counts. Comments and
string literals are skipped, and so is a call without arguments (`stat()` is the struct; no syscall listed
takes none)."""
import os
import re
import sys

# Calls that only SystemIO may make. Sockets of libcurl, libpq, OpenSSL (kTLS) and libssh are theirs: those
# libraries make their own calls, which no Swift code here can route (Docs/architecture.md).
RAW_CALLS = [
    # file metadata
    "stat", "lstat", "fstat", "fstatat", "statx", "mkdir", "mkdirat", "chmod", "fchmod", "fchmodat", "chown",
    "fchown", "lchown", "unlink", "unlinkat", "rmdir", "ftruncate", "truncate", "lseek", "opendir", "fdopendir",
    "readdir", "closedir", "futimens", "utimensat", "utimes", "access", "faccessat", "symlink", "readlink",
    "mkstemp", "mkdtemp",
    # file data and placement (moved earlier)
    "open", "openat", "read", "pread", "write", "pwrite", "close", "fsync", "fdatasync", "rename", "renameat",
    "link", "linkat", "sendfile", "posix_fadvise", "flock", "fallocate", "posix_fallocate",
    # sockets
    "socket", "bind", "listen", "accept", "accept4", "connect", "send", "recv", "sendto", "recvfrom",
    "setsockopt", "getsockopt", "getsockname", "shutdown", "fcntl", "poll",
]
# Directories of Sources/ that are not checked: the layer itself, and the console's generated JavaScript.
SKIPPED = {"SystemIO", "ConsoleAssets"}

CALL = re.compile(r"(?<![A-Za-z0-9_.])(Glibc\.)?(" + "|".join(RAW_CALLS) + r")\s*\((\s*\))?")
DECLARED = re.compile(r"\b(?:func|case)\s+(" + "|".join(RAW_CALLS) + r")\s*[(<]")
STRING = re.compile(r'"(?:\\.|[^"\\])*"')


def code_lines(text):
    """(line number, code) with comments and string literals blanked."""
    in_block = False
    in_multiline_string = False
    for number, line in enumerate(text.splitlines(), 1):
        if in_multiline_string:
            if '"""' in line:
                in_multiline_string = False
            continue
        if line.count('"""') % 2 == 1:
            in_multiline_string = True
            line = line[: line.index('"""')]
        line = STRING.sub('""', line)
        if in_block:
            if "*/" not in line:
                continue
            line = line[line.index("*/") + 2 :]
            in_block = False
        if "/*" in line and "*/" not in line:
            in_block = True
            line = line[: line.index("/*")]
        if "//" in line:
            line = line[: line.index("//")]
        yield number, line


def swift_files(sources):
    """{target: [paths]} of the checked targets."""
    targets = {}
    for root, dirs, files in os.walk(sources):
        top = os.path.relpath(root, sources).split(os.sep)[0]
        if top in SKIPPED or top.startswith("C") and top[1:2].isupper():
            dirs[:] = []
            continue
        dirs.sort()
        targets.setdefault(top, []).extend(os.path.join(root, n) for n in sorted(files) if n.endswith(".swift"))
    return targets


def findings(sources):
    found = []
    for target, paths in sorted(swift_files(sources).items()):
        texts = {}
        for path in paths:
            with open(path, encoding="utf-8") as f:
                texts[path] = f.read()
        own = {name for text in texts.values() for name in DECLARED.findall(text)}
        for path, text in texts.items():
            for number, line in code_lines(text):
                for m in CALL.finditer(line):
                    qualified, call, no_argument = m.group(1), m.group(2), m.group(3)
                    if no_argument or (not qualified and call in own):
                        continue
                    found.append(f"{os.path.relpath(path)}:{number}: {(qualified or '') + call}(")
    return found


def main():
    sources = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Sources")
    found = findings(sources)
    for line in found:
        print(line)
    if found:
        print(f"check-syscalls: {len(found)} raw syscall(s) outside Sources/SystemIO; use its wrappers (FileIO, "
              "Socket) instead (Docs/architecture.md, \"The syscall layer\")", file=sys.stderr)
        return 1
    print("check-syscalls: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
