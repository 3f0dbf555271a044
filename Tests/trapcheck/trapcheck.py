#!/usr/bin/env python3
"""Lists every conversion or unwrap in Sources/ that can trap at run time, and fails on any that
is neither rewritten nor named, with its reason, in Tests/trapcheck/allowed.txt.

What counts as a finding:
  - an integer conversion (`Int(`, `Int64(`, `UInt8(`, ...) of a value that is not a literal,
    without a label (`exactly:`, `clamping:`, `truncatingIfNeeded:`, `bitPattern:` never trap) and
    not evidently parsing a string (a result used as an optional: `?? `, `if let`, `.map`, ...),
    and an initializer passed as a function (`.map(Int.init)`), whose argument type the check
    cannot see;
  - `try!` and `as!`;
  - `!` directly after a call that parses or looks something up (`Int(x)!`, `URL(string: s)!`,
    `.first!`, `.last!`, `.randomElement()!`, `.min()!`, `.max()!`).

An allow-list entry is one line, `PATH :: TRIMMED SOURCE LINE :: REASON`: keyed by the line's text,
not its number, so that edits elsewhere in the file do not disturb it. Entries that match nothing
any more are reported as stale, so the list stays honest. Exit status 1 on new findings or stale
entries, 0 otherwise.
"""

import os
import re
import sys

INTEGER_TYPES = ("Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64")
CONVERSION = re.compile(r"(?<![\w.])(" + "|".join(INTEGER_TYPES) + r")(?:\.init)?\(")
FORCE_UNWRAPPED_LOOKUP = re.compile(r"\.(first|last)!|\.(randomElement|min|max|popLast)\(\)!")
LITERAL = re.compile(r"^[\s\d_xXa-fA-F.+\-*/%<>&|^~()]*$")
OPTIONAL_USE = re.compile(r"^\s*(\?\?|\?\.|\?\s|\?\)|\.map\b|\.flatMap\b|!=\s*nil|==\s*nil)")
BINDING_BEFORE = re.compile(r"\b(if|guard|while)\s+(let|var)\s+\w+\s*=\s*$|,\s*(let|var)\s+\w+\s*=\s*$")


def code_mask(text):
    """`text` with comments and the literal parts of strings blanked (string interpolations stay
    code); newlines are kept, so offsets and line numbers are the source's."""
    out = list(text)
    i, n = 0, len(text)
    # Stack of contexts: ("code", paren depth) inside interpolations, ("string", hashes, multiline).
    stack = [("code", 0)]

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        top = stack[-1]
        if top[0] == "code":
            if text.startswith("//", i):
                j = text.find("\n", i)
                j = n if j < 0 else j
                blank(i, j)
                i = j
            elif text.startswith("/*", i):
                depth, j = 1, i + 2
                while j < n and depth:
                    if text.startswith("/*", j):
                        depth, j = depth + 1, j + 2
                    elif text.startswith("*/", j):
                        depth, j = depth - 1, j + 2
                    else:
                        j += 1
                blank(i, j)
                i = j
            else:
                m = re.match(r'(#*)("""|")', text[i:i + 8])
                if m and (m.group(1) or text[i] == '"'):
                    hashes, quote = len(m.group(1)), m.group(2)
                    stack.append(("string", hashes, quote))
                    i += m.end()
                elif text[i] == "(":
                    stack[-1] = ("code", top[1] + 1)
                    i += 1
                elif text[i] == ")":
                    if top[1] == 0 and len(stack) > 1:
                        stack.pop()  # end of an interpolation
                        out[i] = " "
                    else:
                        stack[-1] = ("code", top[1] - 1)
                    i += 1
                else:
                    i += 1
        else:
            _, hashes, quote = top
            close = quote + "#" * hashes
            escape = "\\" + "#" * hashes
            if text.startswith(close, i):
                stack.pop()
                i += len(close)
            elif text.startswith(escape + "(", i):
                blank(i, i + len(escape) + 1)
                i += len(escape) + 1
                stack.append(("code", 0))
            elif text.startswith(escape, i):
                blank(i, i + len(escape) + 1)
                i += len(escape) + 1
            else:
                if text[i] != "\n":
                    out[i] = " "
                i += 1
    return "".join(out)


def matching_paren(code, open_index):
    depth = 0
    for j in range(open_index, len(code)):
        if code[j] in "([{":
            depth += 1
        elif code[j] in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def findings(path, text):
    """(line number, kind) for each finding in one file."""
    code = code_mask(text)
    found = []

    def line_of(offset):
        return code.count("\n", 0, offset) + 1

    for m in CONVERSION.finditer(code):
        open_index = m.end() - 1
        close = matching_paren(code, open_index)
        argument_code = code[open_index + 1:close]
        argument_text = text[open_index + 1:close].strip()
        after = code[close + 1:close + 12]
        if after.startswith("!") and not after.startswith("!="):
            found.append((line_of(m.start()), "force-unwrapped parse"))
            continue
        if re.match(r"^\s*\w+\s*:", argument_code) or re.search(r",\s*radix\s*:", argument_code):
            continue  # a labelled initializer (exactly:, clamping:, ...) or a string parse with a radix
        if argument_text.startswith(('"', '#"')) and not argument_code.strip():
            continue  # a string literal: parsing
        if LITERAL.match(argument_code) and re.search(r"\d", argument_code) and not re.search(r"[A-Za-z_]\w*", re.sub(r"0[xX][0-9a-fA-F_]+", "", argument_code)):
            continue  # an integer literal or arithmetic on literals: checked at compile time
        if OPTIONAL_USE.match(after) or BINDING_BEFORE.search(code[max(0, m.start() - 60):m.start()]):
            continue  # the result is optional: the failable String/Substring initializer
        found.append((line_of(m.start()), m.group(1) + "(...) conversion"))
    for m in re.finditer(r"(?<![\w.])(" + "|".join(INTEGER_TYPES) + r")\.init\b(?!\s*\()", code):
        found.append((line_of(m.start()), m.group(1) + ".init passed as a conversion"))
    for m in re.finditer(r"\btry!|\bas!", code):
        found.append((line_of(m.start()), m.group(0)))
    for m in FORCE_UNWRAPPED_LOOKUP.finditer(code):
        if not code.startswith("=", m.end()):
            found.append((line_of(m.start()), "force-unwrapped " + (m.group(1) or m.group(2))))
    for m in re.finditer(r"\b(URL|UUID|Data|Date|String|Character|Unicode\.Scalar|Double|Float)\(", code):
        close = matching_paren(code, m.end() - 1)
        if code.startswith("!", close + 1) and not code.startswith("!=", close + 1):
            found.append((line_of(m.start()), "force-unwrapped " + m.group(1) + "(...)"))
    return found


def load_allowed(path):
    entries = {}
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split(" :: ")
            if len(parts) < 3 or not parts[-1].strip():
                sys.exit(f"{path}:{number}: expected `PATH :: TRIMMED SOURCE LINE :: REASON`")
            key = (parts[0].strip(), " :: ".join(parts[1:-1]).strip())
            entries[key] = number
    return entries


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    allowed_path = os.path.join(root, "Tests", "trapcheck", "allowed.txt")
    allowed = load_allowed(allowed_path)
    used = set()
    new = []
    for directory, _, files in sorted(os.walk(os.path.join(root, "Sources"))):
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            full = os.path.join(directory, name)
            relative = os.path.relpath(full, root).replace(os.sep, "/")
            with open(full, encoding="utf-8") as f:
                text = f.read()
            lines = text.split("\n")
            for number, kind in findings(relative, text):
                key = (relative, lines[number - 1].strip())
                if key in allowed:
                    used.add(key)
                else:
                    new.append(f"{relative}:{number}: {kind}: {key[1]}")
    stale = [f"Tests/trapcheck/allowed.txt:{n}: stale, matches nothing: {p} :: {l}" for (p, l), n in allowed.items() if (p, l) not in used]
    for item in new:
        print(item)
    for item in sorted(stale):
        print(item)
    if new or stale:
        print(f"trapcheck: {len(new)} unlisted finding(s), {len(stale)} stale allow-list entr(y/ies). Rewrite the "
              "conversion (Int(exactly:), Int(clamping:), a saturating helper, a guard) or add "
              "`PATH :: LINE :: REASON` to Tests/trapcheck/allowed.txt.", file=sys.stderr)
        return 1
    print(f"trapcheck: no unlisted trapping conversions ({len(used)} allowed lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
