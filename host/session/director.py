"""The program's frame source: play queued speech segments, fill every gap with idle frames.

The director decides what is on screen at each frame position; it never waits in realtime,
so a late segment shows up as idle frames, never as a pause. In fast mode it waits for work
that is in flight, so a fast run shows what an infinitely fast machine would have streamed.
With a music bed, every frame's audio is mixed over it: at full level when idle, ducked
while a segment plays. Every frame it tells the animator whether the line on air is about
its product (`Animator.present`), so a host with hands points at the product's side.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Generator, Sequence

import numpy as np

from host.catalog.facts import CatalogView, ProductFacts
from host.face.base import Animator, Side
from host.face.sadtalker import iter_clip_frames
from host.session.speech import Segment
from host.stream.base import Overlay, ProgramFrame
from host.stream.music import MusicBed

log = logging.getLogger(__name__)

PRODUCT_REFRESH_S = 1.0  # how often the idle product card re-reads the live price
FAST_WAIT_S = 5.0  # fast mode: longest wall-clock wait for in-flight work before going idle
CUT_WINDOW_S = 0.16  # a cut line ends at the quietest frame within this much more speech
CUT_FADE_S = 0.04  # and fades out over this much before it, so the cut never clicks
ENDING_S = 0.5  # the line on air is ending this long before its last frame: time to choose
SET_REFRESH_S = 5.0  # how often the lineup is compared with the one on the set behind the host


class Director:
    def __init__(
        self,
        animator: Animator,
        catalog: CatalogView,
        rate: int,
        fps: int,
        *,
        fast: bool,
        busy: Callable[[], bool],
        music: MusicBed | None = None,
        showcase_side: Side = "left",
        backdrop: Callable[[Sequence[ProductFacts]], np.ndarray | None] | None = None,
    ) -> None:
        """`backdrop` draws the set for a lineup (None: the animator's own); it runs in a
        thread when the lineup changes, and the host stands in front of it from then on."""
        self.segments: asyncio.Queue[Segment] = asyncio.Queue(1)
        self._taken = asyncio.Event()
        self._animator = animator
        self._catalog = catalog
        self._spf = rate // fps
        self._fps = fps
        self._fast = fast
        self._busy = busy
        self._music = music
        self._showcase_side: Side = showcase_side
        self._silence = np.zeros(self._spf, np.int16)
        self._playing: Segment | None = None
        self._frames: Generator[np.ndarray] | None = None
        self._pos = 0
        self._end = 0  # the frame the playing segment stops before (earlier once it is cut)
        self._ending = asyncio.Event()  # set while the line on air is within ENDING_S of its end
        self._ending.set()
        self._ending_frames = round(ENDING_S * fps)
        self._product: ProductFacts | None = None
        self._product_at = -1e9
        self._backdrop = backdrop
        self._set_key: tuple[object, ...] | None = None
        self._set_at = -1e9
        self._set_job: asyncio.Future[np.ndarray | None] | None = None

    @property
    def speaking(self) -> bool:
        return self._playing is not None

    @property
    def playing_priority(self) -> float | None:
        return None if self._playing is None else self._playing.priority

    async def next_frame(self, index: int) -> ProgramFrame:
        self._check_set(index)
        if self._playing is None:
            await self._start_next(index)
        seg = self._playing
        talked_about = seg is not None and seg.overlay.showcase
        self._animator.present(self._showcase_side if talked_about else None, index)
        if seg is None or self._frames is None:
            return ProgramFrame(
                image=self._animator.idle(index),
                audio=self._sound(self._silence, speaking=False),
                overlay=Overlay(product=self._idle_product(index)),
            )
        k = self._pos
        frame = ProgramFrame(
            image=next(self._frames),
            audio=self._sound(seg.audio[k * self._spf : (k + 1) * self._spf], speaking=True),
            overlay=dataclasses.replace(seg.overlay, spoken=seg.spoken_at(k)),
            trace=seg.trace if k == 0 else None,
            stages=seg.stages,
        )
        self._pos += 1
        self._note_ending()
        if self._pos >= self._end:
            self._finish(seg)
        return frame

    def cut(self, below: float) -> bool:
        """Give way to a waiting line of priority `below`: every line of lower priority goes.

        Queued ones are dropped before they start; the one on air ends at the next pause
        between words (the quietest frame within CUT_WINDOW_S) with a short fade, so voice
        and lips stop together and the next line follows at once. True when a line on air
        was cut midway.
        """
        self._drop_queued(lambda queued: queued.priority < below)
        seg = self._playing
        if seg is None or seg.priority >= below:
            return False
        return self._cut_playing(seg)

    def drop_optional(self, up_to: float) -> bool:
        """Give way to a waiting line of priority `up_to` with what only adds to an answer
        already given (`Segment.optional`, of priority at most `up_to`): queued ones are
        dropped and the one on air ends at the next pause, as in `cut`. True when one went."""

        def optional(seg: Segment) -> bool:
            return seg.optional and seg.priority <= up_to

        dropped = self._drop_queued(optional)
        seg = self._playing
        cut = seg is not None and optional(seg) and self._cut_playing(seg)
        return dropped or cut

    def _cut_playing(self, seg: Segment) -> bool:
        if seg.cut:
            return False
        end = self._boundary(seg)
        if end >= self._end:
            return False
        seg.cut = True
        self._end = end
        self._note_ending()
        self._fade_before(seg, end)
        if self._pos >= self._end:
            self._finish(seg)
        return True

    def _drop_queued(self, drop: Callable[[Segment], bool]) -> bool:
        kept, dropped = [], False
        while not self.segments.empty():
            queued = self.segments.get_nowait()
            if drop(queued):
                queued.cut = dropped = True
                queued.done.set()
            else:
                kept.append(queued)
        for queued in kept:
            self.segments.put_nowait(queued)
        self._taken.set()
        return dropped

    def _boundary(self, seg: Segment) -> int:
        """The frame to stop before: the quietest of the next few, a pause between words."""
        limit = min(self._end, self._pos + max(1, round(CUT_WINDOW_S * self._fps)))
        window = seg.audio[self._pos * self._spf : limit * self._spf].astype(np.float32)
        if not len(window):
            return self._pos
        loudness = np.sqrt(np.mean(window.reshape(-1, self._spf) ** 2, axis=1))
        # stop before the quiet frame; a frame already quiet now ends the line at once
        return self._pos + int(np.argmin(loudness))

    def _fade_before(self, seg: Segment, end: int) -> None:
        fade = min((end - self._pos) * self._spf, max(1, round(CUT_FADE_S * self._fps)) * self._spf)
        if fade <= 0:
            return
        stop = end * self._spf
        audio = seg.audio.copy()  # the segment may be replayed by a test; never edit in place
        ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
        audio[stop - fade : stop] = (audio[stop - fade : stop] * ramp).astype(np.int16)
        seg.audio = audio

    def _note_ending(self) -> None:
        if self._end - self._pos <= self._ending_frames:
            self._ending.set()

    def _finish(self, seg: Segment) -> None:
        self._ending.set()
        seg.done.set()
        if self._frames is not None:
            self._frames.close()  # a cut clip releases its decoder now
        self._playing, self._frames = None, None

    async def wait_for_room(self) -> None:
        """Return once nothing is waiting to play, so the next line is written just in time.

        Writing ahead by at most one sentence keeps prices fresh and lets a more urgent
        comment that arrives meanwhile be answered first.
        """
        while not self.segments.empty():
            self._taken.clear()
            await self._taken.wait()

    async def wait_until_ending(self) -> None:
        """Return once the line on air is within ENDING_S of its end (at once when idle).

        The next reply is chosen then, as late as it can be and still follow without a gap,
        so a question typed while a line plays can be the one answered next.
        """
        await self._ending.wait()

    async def _start_next(self, index: int) -> None:
        if self._fast:
            deadline = time.monotonic() + FAST_WAIT_S
            while self.segments.empty() and self._busy() and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
        if self.segments.empty():
            return
        seg = self.segments.get_nowait()
        self._taken.set()
        self._playing, self._pos, self._end = seg, 0, seg.frames
        self._ending.clear()
        self._note_ending()
        seg.started = True
        self._frames = self._speaking_frames(seg, index)

    def _speaking_frames(self, seg: Segment, index: int) -> Generator[np.ndarray]:
        """The segment's clip when it has one, else the animator; a clip that breaks midway
        hands the rest of the sentence to the animator, so the program never misses a frame."""
        done = 0
        if seg.clip is not None:
            try:
                for frame in iter_clip_frames(
                    seg.clip, self._animator.width, self._animator.height, seg.frames
                ):
                    yield frame
                    done += 1
                return
            except Exception as error:
                log.warning("clip %s failed at frame %d: %s", seg.clip, done, error)
        yield from self._animator.speak(seg.poses[done:], index + done)

    def _sound(self, speech: np.ndarray, *, speaking: bool) -> np.ndarray:
        """The frame's program audio: the speech, over the music bed when there is one."""
        return speech if self._music is None else self._music.mix(speech, speaking)

    def _check_set(self, index: int) -> None:
        """Every SET_REFRESH_S, a lineup changed since the set was drawn is drawn again."""
        t = index / self._fps
        if self._backdrop is None or self._set_job is not None or t - self._set_at < SET_REFRESH_S:
            return
        self._set_at = t
        lineup = tuple(self._catalog.lineup())
        key = tuple((p.sku, p.link, p.attributes.get("image")) for p in lineup)
        if key == self._set_key:
            return
        self._set_key = key
        job = asyncio.get_running_loop().run_in_executor(None, self._backdrop, lineup)
        job.add_done_callback(self._set_drawn)
        self._set_job = job

    def _set_drawn(self, job: asyncio.Future[np.ndarray | None]) -> None:
        """On the event loop, between two frames: the host stands in front of the new set."""
        self._set_job = None
        if job.cancelled():
            return
        if (error := job.exception()) is not None:
            log.warning("the set behind the host was not drawn: %s", error)
            return
        image = job.result()
        if image is not None:
            self._animator.set_backdrop(image)

    def _idle_product(self, index: int) -> ProductFacts | None:
        t = index / self._fps
        if t - self._product_at >= PRODUCT_REFRESH_S:
            self._product = self._catalog.current()
            self._product_at = t
        return self._product
