"""Stage timestamps for one answered comment, so latency per stage is measured, not guessed.

A `Trace` rides along with an item from the source to the program; each stage stamps the
moment it finished its part. Times are session seconds from the session clock, so realtime
and fast runs report in the same unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# first_frame_out: the host's first frame for the comment (a bridge line when the comment cut
# into a pitch, else the answer); answer_frame_out: the answer's own first frame.
STAGES = (
    "received",
    "triaged",
    "reply_ready",
    "first_audio",
    "first_frame_out",
    "answer_frame_out",
)


@dataclass
class Trace:
    stamps: dict[str, float] = field(default_factory=dict)

    def stamp(self, stage: str, t: float) -> None:
        """Record the first time a stage is reached; later stamps of the same stage are kept out."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        self.stamps.setdefault(stage, t)
