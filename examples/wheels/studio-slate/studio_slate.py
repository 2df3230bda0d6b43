"""The text of a clapperboard slate."""


def slate(production, scene, take, roll="A001", director=""):
    """The slate's lines, in a box as wide as the longest one."""
    lines = ["PROD  %s" % production, "SCENE %s   TAKE %s" % (scene, take),
             "ROLL  %s" % roll]
    if director:
        lines.append("DIR   %s" % director)
    width = max(len(line) for line in lines)
    edge = "+" + "-" * (width + 2) + "+"
    return "\n".join([edge] + ["| %s |" % line.ljust(width) for line in lines] + [edge])
