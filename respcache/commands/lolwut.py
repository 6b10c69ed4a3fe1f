"""LOLWUT: some computer art and the Redis version, as Redis 7.0 draws it.

Follows Redis 7.0.15's ``src/lolwut.c``, ``lolwut5.c`` and ``lolwut6.c``. Redis 7.0 has
no picture of its own: plain ``LOLWUT`` answers ``Redis ver. 7.0.15``; ``LOLWUT VERSION
5`` draws Georg Nees's *Schotter* in Braille characters (columns, squares per row,
squares per column) and ``LOLWUT VERSION 6`` a skyline in the four grays of a color
terminal (columns, rows). The pictures are random, as in Redis (``rand()``); their size,
characters and captions are Redis's.
"""

from __future__ import annotations

import math
import random
from typing import Final

from respcache import REDIS_VERSION
from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.protocol.types import Reply, Verbatim

RAND_MAX: Final = 2**31 - 1


def _rand() -> int:
    return random.randint(0, RAND_MAX)


class Canvas:
    """A width x height grid of small integer colors (``lwCanvas``)."""

    __slots__ = ("height", "pixels", "width")

    def __init__(self, width: int, height: int, background: int = 0) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray([background]) * (width * height)

    def draw_pixel(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get_pixel(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def draw_line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """Bresenham, as ``lwDrawLine``."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.draw_pixel(x1, y1, color)
            if x1 == x2 and y1 == y2:
                break
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def draw_square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """A square centred on x,y, rotated by ``angle`` (``lwDrawSquare``)."""
        size = _c_round(size / 1.4142135623)
        k = math.pi / 4 + angle
        px: list[int] = []
        py: list[int] = []
        for _ in range(4):
            px.append(int(_c_round(math.sin(k) * size + x)))
            py.append(int(_c_round(math.cos(k) * size + y)))
            k += math.pi / 2
        for j in range(4):
            self.draw_line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color)


def _c_round(value: float) -> float:
    """C's ``round``: halves away from zero (Python rounds them to even)."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


# --- version 5: Schotter -------------------------------------------------------------------


def schotter(console_cols: int, squares_per_row: int, squares_per_col: int) -> Canvas:
    """Georg Nees's *Schotter*: squares more and more disordered row by row."""
    canvas_width = console_cols * 2
    padding = 2 if canvas_width > 4 else 0
    square_side = (canvas_width - padding * 2) / squares_per_row
    canvas_height = int(square_side * squares_per_col + padding * 2)
    canvas = Canvas(canvas_width, canvas_height)
    for y in range(squares_per_col):
        for x in range(squares_per_row):
            sx = int(x * square_side + square_side / 2 + padding)
            sy = int(y * square_side + square_side / 2 + padding)
            angle = 0.0
            if y > 1:
                r1 = _rand() / RAND_MAX / squares_per_col * y
                r2 = _rand() / RAND_MAX / squares_per_col * y
                r3 = _rand() / RAND_MAX / squares_per_col * y
                if _rand() % 2:
                    r1 = -r1
                if _rand() % 2:
                    r2 = -r2
                if _rand() % 2:
                    r3 = -r3
                angle = r1
                sx = int(sx + r2 * square_side / 3)
                sy = int(sy + r3 * square_side / 3)
            canvas.draw_square(sx, sy, square_side, angle, 1)
    return canvas


def render_braille(canvas: Canvas) -> str:
    """Each 2x4 block of pixels as one Braille character (U+2800 + the dot bits)."""
    text: list[str] = []
    get = canvas.get_pixel
    for y in range(0, canvas.height, 4):
        for x in range(0, canvas.width, 2):
            byte = (
                get(x, y)
                | get(x, y + 1) << 1
                | get(x, y + 2) << 2
                | get(x + 1, y) << 3
                | get(x + 1, y + 1) << 4
                | get(x + 1, y + 2) << 5
                | get(x, y + 3) << 6
                | get(x + 1, y + 3) << 7
            )
            text.append(chr(0x2800 + byte))
        if y != canvas.height - 1:  # as Redis: no newline only if y is the last line
            text.append("\n")
    return "".join(text)


# --- version 6: the skyline ------------------------------------------------------------------

GRAYS: Final = ("0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m")


def _skyscraper(
    canvas: Canvas, xoff: int, width: int, height: int, windows: bool, color: int
) -> None:
    starty = canvas.height - 1
    endy = starty - height + 1
    for y in range(starty, endy - 1, -1):
        for x in range(xoff, xoff + width):
            if y == endy and (x <= xoff + 1 or x >= xoff + width - 2):
                continue  # the roof is four pixels narrower
            pixel = color
            if windows and xoff + 1 < x < xoff + width - 2 and endy + 1 < y < starty - 1:
                relx = x - (xoff + 1)
                rely = y - (endy + 1)
                if (relx // 2) % 2 and rely % 2:
                    pixel = 1 + _rand() % 2
                    while pixel == color:
                        pixel = 1 + _rand() % 2
                    if relx % 2:
                        pixel = canvas.get_pixel(x - 1, y)
            canvas.draw_pixel(x, y, pixel)


def skyline(canvas: Canvas) -> None:
    """Background skyscrapers in two grays, then black ones with windows in front."""
    h = canvas.height
    for color in (2, 1):
        offset = -10
        while offset < canvas.width:
            offset += _rand() % 8
            width = 10 + _rand() % 9
            if color == 2:
                height = _c_div(h, 2) + _c_div(_rand() % h, 2)
            else:
                height = _c_div(h, 2) + _c_div(_rand() % h, 3)
            _skyscraper(canvas, offset, width, height, False, color)
            offset += _c_div(width, 2) if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += _rand() % 8
        width = 5 + _rand() % 14
        if width % 4:
            width += width % 3
        height = _c_div(h, 3) + _c_div(_rand() % h, 2)
        _skyscraper(canvas, offset, width, height, True, 0)
        offset += width + 5


def render_grays(canvas: Canvas) -> str:
    """One space per pixel, colored with the terminal's gray (foreground and background)."""
    lines = []
    for y in range(canvas.height):
        lines.append(
            "".join(f"\033[{GRAYS[canvas.get_pixel(x, y)]} \033[0m" for x in range(canvas.width))
        )
    return "\n".join(lines)


# --- the command -----------------------------------------------------------------------------


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def lolwut5(args: list[bytes]) -> str:
    cols = parse_int(args[0]) if len(args) > 0 else 66
    per_row = parse_int(args[1]) if len(args) > 1 else 8
    per_col = parse_int(args[2]) if len(args) > 2 else 12
    canvas = schotter(_clamp(cols, 1, 1000), _clamp(per_row, 1, 200), _clamp(per_col, 1, 200))
    return (
        render_braille(canvas)
        + "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. "
        + REDIS_VERSION
        + "\n"
    )


def lolwut6(args: list[bytes]) -> str:
    cols = parse_int(args[0]) if len(args) > 0 else 80
    rows = parse_int(args[1]) if len(args) > 1 else 20
    canvas = Canvas(_clamp(cols, 1, 1000), _clamp(rows, 1, 1000), 3)
    skyline(canvas)
    return (
        render_grays(canvas) + "\nDedicated to the 8 bit game developers of past and present.\n"
        "Original 8 bit image from Plaguemon by hikikomori. Redis ver. " + REDIS_VERSION + "\n"
    )


def lolwut_text(argv: list[bytes]) -> str:
    """The text LOLWUT answers for ``argv`` (the command name first)."""
    version = REDIS_VERSION
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        # Redis prints the number as "%u.0.0" of an unsigned int, then looks at it.
        version = f"{parse_int(argv[2]) % 2**32}.0.0"
        args = argv[3:]
    if (version[:2] == "5." and version[2] != "9") or version[:3] == "4.9":
        return lolwut5(args)
    if (version[:2] == "6." and version[2] != "9") or version[:3] == "5.9":
        return lolwut6(args)
    return "Redis ver. " + REDIS_VERSION + "\n"


@command(
    "lolwut",
    arity=-1,
    flags="readonly fast",
    group="server",
    summary="Display some computer art and the Redis version",
    since="5.0.0",
)
def lolwut(c: Client, argv: list[bytes]) -> Reply:
    return Verbatim(lolwut_text(argv).encode())
