"""Frame counts to and from SMPTE timecode (HH:MM:SS:FF), non-drop-frame."""


def frames_to_timecode(frames, fps=25):
    """90125 frames at 25 fps -> '01:00:05:00'."""
    if frames < 0 or fps <= 0:
        raise ValueError("frames must be >= 0 and fps > 0")
    fps = int(round(fps))
    seconds, ff = divmod(int(frames), fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return "%02d:%02d:%02d:%02d" % (hh, mm, ss, ff)


def timecode_to_frames(timecode, fps=25):
    """'01:00:05:00' at 25 fps -> 90125."""
    hh, mm, ss, ff = (int(x) for x in timecode.split(":"))
    fps = int(round(fps))
    if not (0 <= mm < 60 and 0 <= ss < 60 and 0 <= ff < fps):
        raise ValueError("not a timecode at %d fps: %s" % (fps, timecode))
    return ((hh * 60 + mm) * 60 + ss) * fps + ff
