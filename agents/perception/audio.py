"""Speech to text offline with PocketSphinx, whose PyPI wheel ships the en-US model.

Nothing is downloaded at run time. PocketSphinx wants 16 kHz mono 16-bit PCM, so WAV files
of any PCM width, rate and channel count are converted with numpy first (mixdown, a
windowed-sinc low-pass against aliasing, then linear resampling). Compressed formats are
refused with a clear message rather than guessed at.
"""

from __future__ import annotations

import io
import threading
import wave

import numpy as np
from pydantic import BaseModel

from hanlin.agents.perception.errors import PerceptionError

TARGET_RATE = 16_000
SUPPORTED_AUDIO = "WAV (PCM, 8/16/24/32-bit, any sample rate, mono or stereo)"
ENGINE = "pocketsphinx en-US"

_OTHER_FORMATS: tuple[tuple[bytes, str], ...] = (
    (b"ID3", "MP3"),
    (b"\xff\xfb", "MP3"),
    (b"\xff\xf3", "MP3"),
    (b"OggS", "Ogg"),
    (b"fLaC", "FLAC"),
    (b"\x1aE\xdf\xa3", "WebM/Matroska"),
)


class Transcript(BaseModel):
    text: str
    duration_s: float
    engine: str = ENGINE


class _Recognizer:
    """One lazily built decoder per process: building it loads the model (~0.5 s)."""

    _lock = threading.Lock()
    _decoder: object | None = None

    @classmethod
    def transcribe(cls, pcm16: bytes, source: str) -> str:
        with cls._lock:
            decoder = cls._decoder or cls._build(source)
            cls._decoder = decoder
            decoder.start_utt()  # type: ignore[attr-defined]
            decoder.process_raw(pcm16, full_utt=True)  # type: ignore[attr-defined]
            decoder.end_utt()  # type: ignore[attr-defined]
            hypothesis = decoder.hyp()  # type: ignore[attr-defined]
        return hypothesis.hypstr.strip() if hypothesis is not None else ""

    @staticmethod
    def _build(source: str) -> object:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise PerceptionError(
                source,
                "speech recognition needs the 'pocketsphinx' package (pip install pocketsphinx)",
            ) from exc
        return Decoder(samprate=TARGET_RATE, loglevel="FATAL")


def transcribe_audio(data: bytes, source: str, *, max_seconds: float = 600.0) -> Transcript:
    """The spoken English in a WAV file; raises ``PerceptionError`` for other or broken input."""
    samples, rate = read_wav(data, source)
    duration = len(samples) / rate
    if duration > max_seconds:
        raise PerceptionError(
            source, f"audio is {duration:.0f} s long; the limit is {max_seconds:.0f} s"
        )
    pcm = to_16k_pcm16(samples, rate)
    return Transcript(text=_Recognizer.transcribe(pcm, source), duration_s=round(duration, 2))


def read_wav(data: bytes, source: str) -> tuple[np.ndarray, int]:
    """Mono float samples in [-1, 1] and the sample rate."""
    if not data:
        raise PerceptionError(source, "the audio is empty", SUPPORTED_AUDIO)
    if not (data[:4] == b"RIFF" and data[8:12] == b"WAVE"):
        named = next((name for magic, name in _OTHER_FORMATS if data.startswith(magic)), None)
        problem = f"{named} audio is not supported" if named else "not a WAV file"
        raise PerceptionError(source, problem, SUPPORTED_AUDIO)
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels, width, rate = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
            )
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError, ValueError) as exc:
        raise PerceptionError(source, f"unreadable WAV ({exc})", SUPPORTED_AUDIO) from exc
    usable = len(frames) - len(frames) % (width * channels)
    if width not in (1, 2, 3, 4):
        raise PerceptionError(source, f"{8 * width}-bit samples are not supported", SUPPORTED_AUDIO)
    if usable == 0 or rate <= 0:
        raise PerceptionError(source, "the audio has no samples", SUPPORTED_AUDIO)
    samples = _pcm_to_float(frames[:usable], width).reshape(-1, channels).mean(axis=1)
    return samples, rate


def to_16k_pcm16(samples: np.ndarray, rate: int) -> bytes:
    """Resample to 16 kHz (low-passing first when downsampling) as little-endian int16 bytes."""
    if rate != TARGET_RATE:
        if rate > TARGET_RATE:
            samples = np.convolve(samples, _low_pass(0.45 * TARGET_RATE / rate), mode="same")
        count = max(1, round(len(samples) * TARGET_RATE / rate))
        positions = np.linspace(0, len(samples) - 1, count)
        samples = np.interp(positions, np.arange(len(samples)), samples)
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _low_pass(cutoff: float, taps: int = 101) -> np.ndarray:
    """A Hamming-windowed sinc filter; ``cutoff`` in cycles per input sample."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = np.sinc(2 * cutoff * n) * np.hamming(taps)
    return kernel / kernel.sum()


def _pcm_to_float(frames: bytes, width: int) -> np.ndarray:
    if width == 1:
        return (np.frombuffer(frames, dtype=np.uint8).astype(np.float64) - 128) / 128
    if width == 2:
        return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768
    if width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        return values.astype(np.float64) / (1 << 23)
    if width == 4:
        return np.frombuffer(frames, dtype="<i4").astype(np.float64) / 2**31
    raise AssertionError(f"sample width {width} was checked by read_wav")
