"""Speech features with `tf.signal`: log-mel filterbanks or MFCCs, with deltas.

Frames are 25 ms windows every 10 ms (Hann window, no padding at the end), so a waveform of
`n` samples gives `1 + (n - window) // hop` frames.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("logmel", "mfcc")


def frame_sizes(sample_rate: int, window_ms: float = 25.0, hop_ms: float = 10.0) -> tuple[int, int]:
    """Window and hop in samples."""
    return round(sample_rate * window_ms / 1000), round(sample_rate * hop_ms / 1000)


def frame_count(samples: int, sample_rate: int) -> int:
    """Frames a waveform of `samples` samples gives (0 if it is shorter than one window)."""
    window, hop = frame_sizes(sample_rate)
    return 0 if samples < window else 1 + (samples - window) // hop


def log_mel(samples: np.ndarray, sample_rate: int, mel_bins: int = 40) -> np.ndarray:
    """Log-mel filterbank energies `(..., frames, mel_bins)` from 125 Hz to 7.6 kHz, of one
    waveform `(samples,)` or a batch `(waveforms, samples)`."""
    import tensorflow as tf

    window, hop = frame_sizes(sample_rate)
    fft_length = int(2 ** np.ceil(np.log2(window)))
    spectrum = tf.signal.stft(
        tf.constant(samples, tf.float32),
        frame_length=window,
        frame_step=hop,
        fft_length=fft_length,
        window_fn=tf.signal.hann_window,
    )
    weights = tf.signal.linear_to_mel_weight_matrix(
        mel_bins, fft_length // 2 + 1, sample_rate, 125.0, min(7600.0, sample_rate / 2)
    )
    energies = tf.matmul(tf.abs(spectrum) ** 2, weights)
    return tf.math.log(energies + 1e-6).numpy()


def mfcc(samples: np.ndarray, sample_rate: int, coefficients: int = 13) -> np.ndarray:
    """The first `coefficients` MFCCs `(..., frames, coefficients)` of 40 log-mel bands."""
    import tensorflow as tf

    bands = log_mel(samples, sample_rate, mel_bins=40)
    return tf.signal.mfccs_from_log_mel_spectrograms(bands)[..., :coefficients].numpy()


def deltas(features: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over +-`width` frames (the HTK formula), edges repeated."""
    padded = np.pad(features, ((width, width), (0, 0)), mode="edge")
    frames = len(features)
    numerator = sum(
        step
        * (
            padded[width + step : width + step + frames]
            - padded[width - step : width - step + frames]
        )
        for step in range(1, width + 1)
    )
    return numerator / (2 * sum(step * step for step in range(1, width + 1)))


def with_deltas(features: np.ndarray) -> np.ndarray:
    """Features, their deltas and delta-deltas side by side: `(frames, 3 * dims)`."""
    first = deltas(features)
    return np.concatenate([features, first, deltas(first)], axis=1).astype("float32")


def stack_frames(features: np.ndarray, stack: int) -> np.ndarray:
    """Concatenate every `stack` consecutive frames into one step (a lower frame rate, as in
    Sak et al. 2015); a last incomplete group is dropped."""
    if stack == 1:
        return features
    steps = len(features) // stack
    return features[: steps * stack].reshape(steps, stack * features.shape[1])


def batch_features(
    waves: list[np.ndarray], sample_rate: int, extract, batch_size: int = 128
) -> list[np.ndarray]:
    """`extract` (log_mel or mfcc) of every waveform, computed on zero-padded batches.

    Frames are cut back to each waveform's own `frame_count`: a frame whose window lies inside
    the waveform never sees the padding, so the result equals one call per waveform.
    """
    features: list[np.ndarray] = []
    for start in range(0, len(waves), batch_size):
        chunk = waves[start : start + batch_size]
        padded = np.zeros((len(chunk), max(len(wave) for wave in chunk)), dtype="float32")
        for row, wave in enumerate(chunk):
            padded[row, : len(wave)] = wave
        batch = extract(padded, sample_rate)
        features += [
            batch[row, : frame_count(len(wave), sample_rate)] for row, wave in enumerate(chunk)
        ]
    return features
