"""The repository documents itself: code, tests and docs cite Docs/protocols.md, Docs/sftp-notes.md and
Docs/style.md by section number, never documents outside the repository, and every cited section exists.
No server and no binary are needed."""
import os
import re

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCANNED = ["Sources", "Tests", "Docs", "scripts", "bench", "Config", ".ci", "README.md", "Package.swift", "Makefile"]
TEXT_SUFFIXES = (".swift", ".py", ".md", ".sh", ".h", ".c", ".yaml", ".yml", ".json", ".toml", ".txt", ".html",
                 ".js", ".css", "Makefile")
SKIP_DIRS = {"__pycache__", "artifacts", ".build", "node_modules", ".pytest_cache"}

# The names of the research notes the Docs/ files were imported from. A citation by one of these names (not
# preceded by "Docs/") or any path into a directory named shared/ points outside the repository.
OUTSIDE = re.compile(
    r"(?<![\w/.-])(?:PROTOCOLS(?:\.md)?|SFTP-NOTES(?:\.md)?|STYLE(?:\.md)?) §"
    r"|(?:\.\./|/work/|\b)shared/(?:PROTOCOLS|SFTP-NOTES|STYLE|seed)")
CITED_DOCS = ("protocols.md", "sftp-notes.md", "style.md")
CITATION = re.compile(r"Docs/(protocols\.md|sftp-notes\.md|style\.md) §(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?")
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)[. ]")


def scanned_files():
    for entry in SCANNED:
        path = os.path.join(ROOT, entry)
        if os.path.isfile(path):
            yield path
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in filenames:
                if name.endswith(TEXT_SUFFIXES) or entry == ".ci":
                    yield os.path.join(dirpath, name)


def lines_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            yield number, line


def sections(doc):
    found = set()
    for _, line in lines_of(os.path.join(ROOT, "Docs", doc)):
        m = HEADING.match(line)
        if m:
            found.add(m.group(1))
    return found


def where(path, number, line):
    return f"{os.path.relpath(path, ROOT)}:{number}: {line.strip()[:140]}"


def test_nothing_cites_documents_outside_the_repository():
    this_file = os.path.abspath(__file__)
    offenders = [where(p, n, line) for p in scanned_files() if os.path.abspath(p) != this_file
                 for n, line in lines_of(p) if OUTSIDE.search(line)]
    assert offenders == [], "cite Docs/ or the RFC instead:\n" + "\n".join(offenders)


def test_the_cited_documents_keep_their_section_numbers():
    # The numbers the code has always cited: a renumbering would silently send readers to the wrong rule.
    assert {"1.2", "2.1", "3.3", "4.1", "4.3", "5.4", "6.3", "7.3"} <= sections("protocols.md")
    assert {"0", "2", "3", "4", "6", "9"} <= sections("sftp-notes.md")
    assert {"2.4", "2.5", "3.1", "3.3"} <= sections("style.md")


@pytest.mark.parametrize("doc", CITED_DOCS)
def test_every_cited_section_exists(doc):
    known = sections(doc)
    missing, cited = [], 0
    for path in scanned_files():
        for number, line in lines_of(path):
            for m in CITATION.finditer(line):
                if m.group(1) != doc:
                    continue
                cited += 1
                for section in filter(None, (m.group(2), m.group(3))):
                    if section not in known:
                        missing.append(f"§{section} in " + where(path, number, line))
    assert cited > 0, f"nothing cites Docs/{doc} any more: fold it into another document or delete it"
    assert missing == [], f"Docs/{doc} has no such section:\n" + "\n".join(missing)
