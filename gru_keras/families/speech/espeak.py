"""eSpeak NG driven through ctypes, in synchronous mode: text in, 16-bit mono samples out.

The library and its voice data come from the `espeakng-loader` wheel, so nothing is installed
system-wide and nothing is downloaded. eSpeak keeps global state (one voice, one callback), so
one `Synthesizer` per process is all there is. Its output also depends on everything it said
before in the same process (pitch flutter and noise generators keep state), so `synthesize`
runs each batch in a fresh child process, seeded: the same jobs and seed give the same samples.
This file runs as that child (`python espeak.py`, not `-m`, so TensorFlow is never imported).
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# From speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_INITIALIZE_DONT_EXIT = 0x8000
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

# English voices that ship with eSpeak NG (accents) and voice variants (`voices/!v`).
ENGLISH_VOICES = (
    "en-us",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
# eSpeak's voice variants (timbres), not the compared models (`gru_keras.variants.VARIANTS`).
TIMBRES = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7",
    "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4",
    "croak", "whisper", "steph", "robert", "paul", "quincy", "rob", "andy",
)  # fmt: skip


@dataclass(frozen=True)
class Voice:
    """One speaker: an eSpeak voice (accent) with a variant (timbre), e.g. `en-gb+f3`."""

    language: str
    variant: str

    @property
    def name(self) -> str:
        return f"{self.language}+{self.variant}"


class SynthesisError(RuntimeError):
    """eSpeak NG refused a voice or a text."""


class Synthesizer:
    """Text to waveform with eSpeak NG.

    Example:

    >>> synthesizer = Synthesizer.shared()
    >>> samples = synthesizer.speak("seven three nine", Voice("en-us", "f2"), rate=160, pitch=50)
    >>> samples.dtype, synthesizer.sample_rate
    (dtype('float32'), 22050)
    """

    _shared: Synthesizer | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        import espeakng_loader

        self._library = ctypes.CDLL(espeakng_loader.get_library_path())
        self._library.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self._library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._library.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        # espeak_Initialize wants the directory that holds `espeak-ng-data`.
        home = os.path.dirname(espeakng_loader.get_data_path()).encode()
        self.sample_rate = self._library.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, home, _INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise SynthesisError(f"eSpeak NG failed to initialize from {home.decode()}")
        self._chunks: list[np.ndarray] = []
        # Kept on the instance: ctypes must not free the callback while eSpeak holds it.
        self._callback = _Callback(self._collect)
        self._library.espeak_SetSynthCallback(self._callback)

    @classmethod
    def shared(cls) -> Synthesizer:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def _collect(self, samples, count: int, events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    def seed(self, seed: int) -> None:
        """Seed eSpeak NG's own random generator (noise in voices such as klatt or whisper)."""
        self._library.espeak_ng_SetRandSeed(ctypes.c_int(seed))

    def speak(self, text: str, voice: Voice, rate: int = 175, pitch: int = 50) -> np.ndarray:
        """The waveform of `text` in `voice`, as float32 in [-1, 1] at `sample_rate`.

        Args:
            text: What to say.
            voice: Accent and variant.
            rate: Words per minute (80-450).
            pitch: Base pitch, 0-100 (50 is the voice's normal).

        Returns:
            1-D float32 samples.
        """
        with self._lock:
            if self._library.espeak_SetVoiceByName(voice.name.encode()) != 0:
                raise SynthesisError(f"eSpeak NG has no voice {voice.name!r}")
            self._library.espeak_SetParameter(_RATE, int(rate), 0)
            self._library.espeak_SetParameter(_PITCH, int(pitch), 0)
            self._chunks = []
            encoded = text.encode()
            status = self._library.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
            )
            self._library.espeak_Synchronize()
            if status != 0:
                raise SynthesisError(f"eSpeak NG could not say {text!r} (error {status})")
            chunks = self._chunks
        if not chunks:
            return np.zeros(0, dtype="float32")
        return (np.concatenate(chunks).astype("float32") / 32768.0).astype("float32")


@dataclass(frozen=True)
class SpeechJob:
    """One utterance to synthesize."""

    text: str
    voice: Voice
    rate: int
    pitch: int


def synthesize(jobs: Sequence[SpeechJob], seed: int) -> tuple[list[np.ndarray], int]:
    """Speak every job in order in a fresh eSpeak NG process seeded with `seed`.

    Returns:
        The float32 waveforms, and their sample rate.
    """
    request = {
        "seed": int(seed),
        "jobs": [
            [job.text, job.voice.language, job.voice.variant, job.rate, job.pitch] for job in jobs
        ],
    }
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__)],
        input=json.dumps(request).encode(),
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        last_line = result.stderr.decode(errors="replace").strip().splitlines()[-1]
        raise SynthesisError(last_line.removeprefix(f"{SynthesisError.__name__}: "))
    with np.load(io.BytesIO(result.stdout), allow_pickle=False) as arrays:
        samples, ends, rate = arrays["samples"], arrays["ends"], int(arrays["sample_rate"])
    waves = np.split(samples, ends[:-1]) if len(ends) else []
    return [wave.astype("float32") / 32768.0 for wave in waves], rate


def _serve() -> None:
    """Child side of `synthesize`: JSON jobs on stdin, an npz of int16 samples on stdout."""
    request = json.loads(sys.stdin.buffer.read())
    synthesizer = Synthesizer.shared()
    synthesizer.seed(request["seed"])
    waves = [
        np.round(
            synthesizer.speak(text, Voice(language, variant), rate=rate, pitch=pitch) * 32768.0
        ).astype("int16")
        for text, language, variant, rate, pitch in request["jobs"]
    ]
    buffer = io.BytesIO()
    np.savez(
        buffer,
        samples=np.concatenate(waves) if waves else np.zeros(0, "int16"),
        ends=np.cumsum([len(wave) for wave in waves]),
        sample_rate=synthesizer.sample_rate,
    )
    sys.stdout.buffer.write(buffer.getvalue())


if __name__ == "__main__":
    _serve()
