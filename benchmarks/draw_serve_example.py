"""Draws the page's bundled example (src/cagnet/serve/examples/drawn-street.jpg) with PIL.

A flat drawing of a street (sky, buildings, trees, road, pavement, a car), made here so the
package ships an example with no licence attached. Run: python benchmarks/draw_serve_example.py
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUTPUT = Path(__file__).parents[1] / "src" / "cagnet" / "serve" / "examples" / "drawn-street.jpg"


def draw_street(width: int = 480, height: int = 360) -> Image.Image:
    image = Image.new("RGB", (width, height), (135, 180, 225))
    pen = ImageDraw.Draw(image)
    for left, right, top, colour in [
        (0, 130, 60, (150, 120, 100)),
        (130, 250, 95, (190, 180, 160)),
        (250, 340, 40, (120, 110, 115)),
        (340, 480, 80, (170, 140, 120)),
    ]:
        pen.rectangle((left, top, right, 230), fill=colour)
        for x in range(left + 12, right - 20, 28):
            for y in range(top + 15, 210, 32):
                pen.rectangle((x, y, x + 14, y + 18), fill=(70, 85, 105))
    pen.rectangle((0, 230, width, 250), fill=(165, 160, 150))  # pavement
    pen.rectangle((0, 250, width, height), fill=(80, 80, 85))  # road
    for x in range(10, width, 80):
        pen.rectangle((x, 300, x + 40, 306), fill=(230, 230, 220))
    for x in (40, 300):
        pen.rectangle((x + 14, 170, x + 22, 232), fill=(90, 65, 40))
        pen.ellipse((x - 15, 110, x + 50, 185), fill=(60, 120, 55))
    pen.rounded_rectangle((170, 255, 330, 310), radius=12, fill=(170, 30, 35))  # car body
    pen.polygon([(200, 255), (220, 225), (285, 225), (305, 255)], fill=(150, 25, 30))
    pen.polygon([(210, 253), (225, 230), (280, 230), (295, 253)], fill=(120, 160, 190))
    for x in (200, 300):
        pen.ellipse((x - 17, 295, x + 17, 329), fill=(25, 25, 25))
    noise = np.random.default_rng(0).normal(0, 6, (height, width, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.SMOOTH)


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    draw_street().save(OUTPUT, quality=88)
    print(f"wrote {OUTPUT}")
