"""The README's example outputs, produced by a real run: build, `policyqa ask`, a served POST.

    python -m eval.readme_examples [--corpus ../shared/corpus] [--index-dir DIR] [--readme FILE]

Each example sits in the README between `<!-- begin example: NAME -->` and
`<!-- end example: NAME -->`; this rewrites what is between them, so the README shows what
the current code prints, not what someone once typed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from eval.server import REPO, ServeProcess, scrubbed_environ

QUESTION = "Can a refugee be expelled to a country where his life would be threatened?"
HTTP_BODY = {"question": "Which state examines an asylum claim lodged in two member states?",
             "k": 3, "mode": "hybrid", "filters": {"jurisdiction": ["eu"]}}
SHOWN_CHARS = 160  # of each passage's text in the JSON example


class ExampleError(RuntimeError):
    """A README example could not be produced or placed; the message says which."""


def policyqa(*args: str) -> str:
    """Runs the real command (as a user would, in a child process) and returns its stdout."""
    done = subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True,
                          text=True, cwd=REPO, env={**scrubbed_environ(), "PYTHONPATH": str(REPO)})
    if done.returncode != 0:
        raise ExampleError(f"policyqa {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def served_answer(index_dir: Path, corpus: Path, log: Path) -> dict:
    """POST /v1/ask with HTTP_BODY on a real `policyqa serve`, its JSON trimmed for reading."""
    server = ServeProcess(index_dir, log, corpus=corpus)
    try:
        server.wait_ready(timeout=900)
        request = urllib.request.Request(server.url + "/v1/ask", method="POST",
                                         data=json.dumps(HTTP_BODY).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            data = json.load(response)
    finally:
        server.stop()
    for p in data["passages"]:
        for key in ("text", "display_text"):
            if len(p[key]) > SHOWN_CHARS:
                p[key] = p[key][:SHOWN_CHARS] + " ..."
    data["passages"] = data["passages"][:1]  # one passage shows every field
    return data


def replace_block(readme: str, name: str, body: str) -> str:
    """`readme` with the example NAME's block replaced by `body` (fenced as it was)."""
    pattern = re.compile(rf"(<!-- begin example: {re.escape(name)} -->\n```\w*\n)(.*?)(```\n"
                         rf"<!-- end example: {re.escape(name)} -->)", re.S)
    if not pattern.search(readme):
        raise ExampleError(f"the README has no block for example {name!r} (between "
                           f"'<!-- begin example: {name} -->' and its end marker)")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(3), readme,
                       count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.readme_examples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--index-dir", type=Path, help="build the example index here (default: "
                        "a new temporary folder, so the examples show what a first build gives)")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="policyqa-readme-") as tmp:
        index_dir = args.index_dir or Path(tmp) / "index"
        built = policyqa("index", "build", "--corpus", str(args.corpus), "--index-dir",
                         str(index_dir))
        summary = "\n".join(built.splitlines()[:2])
        asked = policyqa("ask", QUESTION, "-k", "3", "--index-dir", str(index_dir))
        answer = served_answer(index_dir, args.corpus, Path(tmp) / "serve.log")
    readme = args.readme.read_text(encoding="utf-8")
    readme = replace_block(readme, "build", f"$ policyqa index build --corpus CORPUS\n{summary}")
    readme = replace_block(readme, "ask", f'$ policyqa ask "{QUESTION}" -k 3\n{asked}')
    readme = replace_block(readme, "http", json.dumps(answer, indent=1, ensure_ascii=False))
    args.readme.write_text(readme, encoding="utf-8")
    print(f"wrote the build, ask and http examples into {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
