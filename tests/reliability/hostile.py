"""Generators of hostile and broken corpus files for the reliability tests: nothing binary is committed."""

from __future__ import annotations

import io
import os
import random
import zlib
from dataclasses import dataclass
from pathlib import Path

import pypdf

# Words the tests look for: each marks one file, so the index can be searched for its text.
SCRIPT_MARKER = "zqxscriptpayload"
STYLE_MARKER = "zqxstylepayload"
HTML_MARKER = "zqxvisiblehtml"
OPEN_PDF_MARKER = "zqxownerlocked"
LOCKED_PDF_MARKER = "zqxuserlocked"
HUGE_PDF_MARKER = "zqxhugepage"
BAD_UTF8_MARKER = "zqxbadutf"

_WORDS = ("state party shall ensure that every person lawfully within its territory enjoys the "
          "right to liberty of movement and freedom to choose a residence subject to restrictions "
          "provided by law and necessary to protect national security public order or health").split()


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file from its numbered objects (object 1 is the catalog), with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"", compress: bool = True) -> bytes:
    if compress:
        data = zlib.compress(data)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _escape(text: str) -> bytes:
    return text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def text_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one Helvetica text line per line of each page's text."""
    count = len(pages)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, text in enumerate(pages):
        ops = [b"BT /F1 11 Tf 14 TL 72 760 Td"]
        ops += [b"(%s) '" % _escape(line) for line in text.split("\n")]
        ops.append(b"ET")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(_stream(b"\n".join(ops)))
    return _pdf(objects)


def prose(words: int, seed: int = 0, marker: str = "") -> str:
    """Treaty-like filler text in lines of about 80 characters, with an optional marker word."""
    rng = random.Random(seed)
    chosen = [rng.choice(_WORDS) for _ in range(words)]
    if marker:
        chosen[len(chosen) // 2] = marker
    lines, line = [], []
    for word in chosen:
        line.append(word)
        if sum(len(w) + 1 for w in line) > 80:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\n".join(lines)


def truncated_pdf() -> bytes:
    """A real text PDF cut in the middle of its second page's content stream."""
    whole = text_pdf([prose(300, 1), prose(300, 2), prose(300, 3)])
    return whole[: len(whole) // 2]


def random_pdf(size: int = 8192, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def encrypted_pdf(user_password: str, marker: str) -> bytes:
    """An AES-256 encrypted text PDF; an empty user password means it opens without one."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(
        text_pdf([f"Article 1 Scope\n{prose(120, 3, marker)}"]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret",
                   algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zero_page_pdf() -> bytes:
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def image_only_pdf() -> bytes:
    """One page that paints a 64x64 grey image XObject and has no text at all."""
    pixels = bytes(random.Random(3).randrange(256) for _ in range(64 * 64))
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
        _stream(b"q 400 0 0 400 100 200 cm /Im1 Do Q"),
        _stream(pixels, b" /Type /XObject /Subtype /Image /Width 64 /Height 64 "
                b"/ColorSpace /DeviceGray /BitsPerComponent 8"),
    ])


def huge_text_pdf(megabytes: int = 10) -> bytes:
    """A single page whose content stream shows `megabytes` MB of text in one Tj operator."""
    unit = (prose(2000, 5) + " ").replace("\n", " ")
    text = (unit * (megabytes * 2**20 // len(unit) + 1))[: megabytes * 2**20]
    text = HUGE_PDF_MARKER + " " + text
    content = b"BT /F1 11 Tf 72 760 Td (" + _escape(text) + b") Tj ET"
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        _stream(content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def invalid_utf8(marker: str) -> bytes:
    """Text with a stray continuation byte, a truncated sequence, an overlong form and Latin-1."""
    good = f"Article 1\n\nEvery {marker} person has the right to seek asylum.\n\n"
    return good.encode() + b"Bad \x80 bytes \xe2\x82 here \xc0\xaf and caf\xe9 au lait.\n"


def write_single_line(path: Path, megabytes: int = 50) -> None:
    """`megabytes` MB of words with no newline at all, written in pieces to keep memory flat."""
    piece = (" ".join(_WORDS) + " ").encode() * 4096
    with path.open("wb") as f:
        left = megabytes * 2**20
        while left > 0:
            f.write(piece[:left])
            left -= len(piece)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Statute [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Statute><Body><Section><Text>&lol9;</Text></Section></Body></Statute>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Statute [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<Statute><Body><Section><Text>Leaked: &xxe;</Text></Section></Body></Statute>
"""

# The same external entity through a parameter entity, which some parsers resolve in the DTD.
EXTERNAL_PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Statute [ <!ENTITY % xxe SYSTEM "file:///etc/passwd"> %xxe; ]>
<Statute><Body><Section><Text>Nothing here.</Text></Section></Body></Statute>
"""

HTML_WITH_SCRIPTS = f"""<!doctype html>
<html><head><title>Hostile page</title>
<script>var payload = "{SCRIPT_MARKER}"; document.write(payload);</script>
<style>body::after {{ content: "{STYLE_MARKER}"; }}</style></head>
<body><h1>Article 1 Right to seek asylum</h1>
<p>Everyone has the right to seek and to enjoy in other countries asylum from persecution
({HTML_MARKER}).</p>
<script type="text/javascript">fetch("/steal?c=" + document.cookie); // {SCRIPT_MARKER}</script>
<noscript>{SCRIPT_MARKER}</noscript>
<p onclick="alert('{SCRIPT_MARKER}')">A paragraph with an event handler.</p>
<iframe srcdoc="<script>{SCRIPT_MARKER}</script>"></iframe>
<svg><script>{SCRIPT_MARKER}</script></svg>
</body></html>
"""


@dataclass(frozen=True)
class HostileFile:
    """One hostile file and what the build must do with it."""

    path: str
    outcome: str  # "skipped": reported with a reason; "read": indexed safely; "either"
    reason: str = ""  # a word the skip reason must contain (lowercase)


def write_hostile_corpus(root: Path, outside: Path) -> list[HostileFile]:
    """Writes every hostile file under `root` (and a secret under `outside`); returns expectations."""
    (root / "hostile").mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.txt"
    secret.write_text("root:x:0:0:secret outside the corpus\n")
    files: dict[str, bytes] = {
        "hostile/truncated.pdf": truncated_pdf(),
        "hostile/random.pdf": random_pdf(),
        "hostile/locked.pdf": encrypted_pdf("user-secret", LOCKED_PDF_MARKER),
        "hostile/owner_only.pdf": encrypted_pdf("", OPEN_PDF_MARKER),
        "hostile/zero_pages.pdf": zero_page_pdf(),
        "hostile/image_only.pdf": image_only_pdf(),
        "hostile/huge_page.pdf": huge_text_pdf(10),
        "hostile/bad_utf8.txt": invalid_utf8(BAD_UTF8_MARKER),
        "hostile/bad_utf8.md": b"# Title\n\n" + invalid_utf8(BAD_UTF8_MARKER),
        "hostile/billion_laughs.xml": BILLION_LAUGHS,
        "hostile/external_entity.xml": EXTERNAL_ENTITY,
        "hostile/external_parameter_entity.xml": EXTERNAL_PARAMETER_ENTITY,
        "hostile/scripts.html": HTML_WITH_SCRIPTS.encode(),
    }
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    write_single_line(root / "hostile/single_line.txt", 50)
    os.symlink(secret, root / "hostile/link_out.txt")
    os.symlink("/etc/passwd", root / "hostile/passwd.md")
    os.symlink(outside, root / "hostile/linked_folder", target_is_directory=True)
    # A link to a file that is gone: the build sees the name but the read fails, as for a file
    # deleted between listing and reading.
    os.symlink(root / "hostile/deleted.txt", root / "hostile/vanished.txt")
    return [
        HostileFile("hostile/truncated.pdf", "either", "pdf"),
        HostileFile("hostile/random.pdf", "skipped", "pdf"),
        HostileFile("hostile/locked.pdf", "skipped", "password"),
        HostileFile("hostile/owner_only.pdf", "read"),
        HostileFile("hostile/zero_pages.pdf", "skipped", "no pages"),
        HostileFile("hostile/image_only.pdf", "skipped", "no extractable text"),
        HostileFile("hostile/huge_page.pdf", "read"),
        HostileFile("hostile/bad_utf8.txt", "read"),
        HostileFile("hostile/bad_utf8.md", "read"),
        HostileFile("hostile/billion_laughs.xml", "skipped", "entit"),
        HostileFile("hostile/external_entity.xml", "skipped", "entit"),
        HostileFile("hostile/external_parameter_entity.xml", "skipped", "entit"),
        HostileFile("hostile/scripts.html", "read"),
        HostileFile("hostile/single_line.txt", "either"),
        HostileFile("hostile/link_out.txt", "skipped", "outside the corpus"),
        HostileFile("hostile/passwd.md", "skipped", "outside the corpus"),
        HostileFile("hostile/vanished.txt", "skipped", "disappeared"),
    ]
