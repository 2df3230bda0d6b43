"""Hex colours to RGB and back, with a gain."""


def hex_to_rgb(text):
    """'#ff8800' -> (255, 136, 0)."""
    text = text.lstrip("#")
    if len(text) != 6:
        raise ValueError("not a #rrggbb colour: %r" % text)
    return tuple(int(text[i:i + 2], 16) for i in (0, 2, 4))


def rgb_to_hex(rgb):
    """(255, 136, 0) -> '#ff8800'."""
    return "#" + "".join("%02x" % max(0, min(255, int(round(c)))) for c in rgb)


def gain(text, factor):
    """Each channel times factor, clipped: gain('#804020', 1.5) -> '#c06030'."""
    return rgb_to_hex(c * factor for c in hex_to_rgb(text))
