"""The folders of Sources/ImageGateApp are layered as Docs/architecture.md lists them: a folder uses only the
folders on the lines below its own (folders on one line do not use each other). No server and no binary are
needed.

How "uses" is found (a grep, not a compiler): every top-level declaration of a folder (a type, typealias,
function, constant or variable at column 0, not private or fileprivate) belongs to that folder, and a file uses
a folder when one of those names appears in its code, comments and the literal text of strings left out
(string interpolations are code). What it cannot see: a member that an `extension` adds to a type declared
elsewhere, used by its name alone (today State/ adds `BlobCheck.label`, used by CLI/ and Serve/, and API/ adds
`JSONBody.object` and `DataDirectory.managementAPI`, used in API/ and CLI/). A name in a comment or a string
never counts; a local variable named like another folder's declaration does, and then the test fails loudly,
never silently. On the tree before State/ existed it reported the Links/Serve cycle and three more upward uses
(Config and Links of Serve's and CLI's helpers, Serve of `verify`'s label)."""
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
APP = os.path.join(ROOT, "Sources", "ImageGateApp")
ARCHITECTURE = os.path.join(ROOT, "Docs", "architecture.md")
LAYERS_INTRO = "Inside `ImageGateApp` the folders are layered too"
FOLDER = re.compile(r"(?:^|\s)([A-Z][A-Za-z]*)/(?=\s|$)")
DECLARATION = re.compile(
    r"^(?:(?:public|package|internal|final|indirect|nonisolated|@\w+(?:\([^)\n]*\))?)\s+)*"
    r"(?:struct|class|enum|protocol|actor|typealias|func|let|var)\s+([A-Za-z_]\w*)", re.M)
IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*\b")


def documented_layers():
    """The layer block of Docs/architecture.md: a list of lines, each the list of folders on it."""
    with open(ARCHITECTURE, encoding="utf-8") as f:
        text = f.read()
    start = text.index(LAYERS_INTRO)
    block = text[text.index("```", start) + 3:]
    block = block[:block.index("```")]
    return [names for names in (FOLDER.findall(line) for line in block.splitlines()) if names]


def code_of(text):
    """Swift source with comments removed and the literal parts of strings blanked; interpolations kept."""
    out = []

    def code(i, in_interpolation):
        depth = 0
        while i < len(text):
            if text.startswith("//", i):
                i = text.find("\n", i)
                i = len(text) if i < 0 else i
            elif text.startswith("/*", i):
                nesting, i = 1, i + 2
                while i < len(text) and nesting:
                    if text.startswith("/*", i):
                        nesting, i = nesting + 1, i + 2
                    elif text.startswith("*/", i):
                        nesting, i = nesting - 1, i + 2
                    else:
                        i += 1
                out.append(" ")
            elif text[i] == '"' or (text[i] == "#" and re.match(r'#+"', text[i:])):
                i = string(i)
            else:
                if in_interpolation and text[i] == "(":
                    depth += 1
                elif in_interpolation and text[i] == ")":
                    if depth == 0:
                        return i + 1
                    depth -= 1
                out.append(text[i])
                i += 1
        return i

    def string(i):
        hashes = len(text[i:]) - len(text[i:].lstrip("#"))
        i += hashes
        quotes = '"""' if text.startswith('"""', i) else '"'
        i += len(quotes)
        close = quotes + "#" * hashes
        interpolation = "\\" + "#" * hashes + "("
        out.append(' "')
        while i < len(text):
            if text.startswith(close, i):
                out.append('" ')
                return i + len(close)
            if text.startswith(interpolation, i):
                out.append(" (")
                i = code(i + len(interpolation), True)
                out.append(") ")
            elif text[i] == "\\":
                i += 2
            else:
                i += 1
        return i

    code(0, False)
    return "".join(out)


def swift_files():
    for folder in sorted(os.listdir(APP)):
        path = os.path.join(APP, folder)
        if not os.path.isdir(path):
            continue
        for dirpath, _, filenames in os.walk(path):
            for name in sorted(filenames):
                if name.endswith(".swift"):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                        yield folder, os.path.relpath(os.path.join(dirpath, name), APP), code_of(f.read())


def uses():
    """(user folder, used folder) -> sorted 'name (file)' strings, and each folder's declaration count."""
    files = list(swift_files())
    owners, declared = {}, {}
    for folder, _, code in files:
        for m in DECLARATION.finditer(code):
            owners.setdefault(m.group(1), set()).add(folder)
            declared[folder] = declared.get(folder, 0) + 1
    edges = {}
    for folder, path, code in files:
        for name in set(IDENTIFIER.findall(code)):
            for owner in owners.get(name, ()):
                if owner != folder:
                    edges.setdefault((folder, owner), []).append(f"{name} ({path})")
    return {edge: sorted(found) for edge, found in edges.items()}, declared


def test_the_documented_layers_name_every_folder_once():
    listed = [name for line in documented_layers() for name in line]
    present = sorted(d for d in os.listdir(APP) if os.path.isdir(os.path.join(APP, d)))
    assert len(listed) == len(set(listed)), f"a folder is listed twice in Docs/architecture.md: {listed}"
    assert sorted(listed) == present, "Docs/architecture.md's layers and Sources/ImageGateApp's folders differ"


def test_each_folder_uses_only_the_folders_below_it():
    level = {name: i for i, line in enumerate(documented_layers()) for name in line}
    edges, declared = uses()
    # Not vacuous: every folder declares something, and the folders do use each other.
    assert set(declared) == set(level), f"folders without top-level declarations: {set(level) - set(declared)}"
    assert len(edges) >= len(level) - 1
    upward = [f"{user} uses {used}: " + ", ".join(found) for (user, used), found in sorted(edges.items())
              if level[used] <= level[user]]
    assert upward == [], ("these folders use a folder at or above their own layer in Docs/architecture.md; "
                          "move the shared piece down, or change the layers there:\n" + "\n".join(upward))
