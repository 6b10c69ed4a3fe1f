"""LOLWUT as Redis 7.0.15 answers it: the version line, and the version 5 and 6 pictures
(random, as in Redis: their size, characters and captions are checked)."""

from __future__ import annotations

from conftest import Run

from respcache.commands import Client
from respcache.commands.lolwut import Canvas, lolwut_text, render_braille
from respcache.errors import CommandError
from respcache.protocol.types import Verbatim

CAPTION_5 = "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n"
CAPTION_6 = (
    "\nDedicated to the 8 bit game developers of past and present.\n"
    "Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15\n"
)


def test_plain_lolwut_is_the_version(client: Client, run: Run) -> None:
    assert run(client, "LOLWUT") == Verbatim(b"Redis ver. 7.0.15\n")
    assert run(client, "LOLWUT", "VERSION", "7") == Verbatim(b"Redis ver. 7.0.15\n")
    assert run(client, "LOLWUT", "VERSION", "59") == Verbatim(b"Redis ver. 7.0.15\n")
    assert run(client, "LOLWUT", "VERSION", "x") == CommandError(
        "ERR value is not an integer or out of range"
    )


def test_version_5_is_schotter_in_braille() -> None:
    text = lolwut_text([b"LOLWUT", b"VERSION", b"5", b"20", b"4", b"3"])
    assert text.endswith(CAPTION_5)
    rows = text[: -len(CAPTION_5)].split("\n")
    # 40 pixels wide = 20 characters; 3 squares of (40-4)/4 = 9 px + 4 px padding = 31 px
    # tall = 8 rows of 4 pixels, the last one ending with a newline too.
    assert [len(row) for row in rows] == [20] * 8 + [0]
    assert all(0x2800 <= ord(ch) <= 0x28FF for row in rows for ch in row)
    assert lolwut_text([b"LOLWUT", b"VERSION", b"4"]).startswith("Redis ver.")


def test_braille_dots_follow_redis_bit_order() -> None:
    canvas = Canvas(2, 4)
    canvas.draw_pixel(0, 0, 1)  # bit 0
    canvas.draw_pixel(1, 3, 1)  # bit 7
    assert render_braille(canvas) == chr(0x2800 + 0x81) + "\n"


def test_version_6_is_a_skyline_in_four_grays() -> None:
    text = lolwut_text([b"LOLWUT", b"VERSION", b"6", b"30", b"8"])
    assert text.endswith(CAPTION_6)
    rows = text[: -len(CAPTION_6)].split("\n")
    assert len(rows) == 8
    grays = {"\033[0;30;40m \033[0m", "\033[0;90;100m \033[0m", "\033[0;37;47m \033[0m"}
    grays.add("\033[0;97;107m \033[0m")
    for row in rows:
        cells = row.split("\033[0m")
        assert cells[-1] == "" and len(cells) == 31
        assert all(cell + "\033[0m" in grays for cell in cells[:-1])
    # Limits, as Redis clamps them: at least one column and row.
    assert lolwut_text([b"LOLWUT", b"VERSION", b"6", b"-5", b"0"]).count("\033[0m") == 1
