"""The speech datasets: JapaneseVowels from sktime, eSpeak NG digit strings, features, cache."""

import numpy as np
import pytest
import tensorflow as tf

from gru_keras.families import DataError
from gru_keras.families.speech.audio import (
    batch_features,
    deltas,
    frame_count,
    frame_sizes,
    log_mel,
    mfcc,
    stack_frames,
)
from gru_keras.families.speech.data import (
    DIGITS,
    JapaneseVowelsSettings,
    SpokenDigitsSettings,
    ctc_min_steps,
    load_japanese_vowels,
    load_spoken_digits,
    stratified_holdout,
    voice_splits,
)
from gru_keras.families.speech.espeak import SpeechJob, Synthesizer, Voice, synthesize


def test_japanese_vowels_keeps_the_official_split_and_its_lengths():
    data = load_japanese_vowels(JapaneseVowelsSettings(validation_fraction=0.2))
    train, validation, test = data.facts.sizes
    assert train + validation == 270 and test == 370
    assert data.x_train.shape == (train, 29, 12) and data.x_test.shape == (370, 29, 12)
    assert sorted(np.unique(data.y_train)) == list(range(9))
    # 30 training utterances per speaker: 6 of each held out for validation.
    assert np.bincount(data.y_val).tolist() == [6] * 9
    lengths = data.facts.lengths
    assert min(map(min, lengths)) == 7 and max(map(max, lengths)) == 29
    # Every frame after an utterance's length is padding, every frame before it is data.
    for x, split_lengths in zip((data.x_train, data.x_val, data.x_test), lengths, strict=True):
        nonzero = np.any(x != 0.0, axis=-1)
        assert np.array_equal(nonzero.sum(axis=1), split_lengths)
    # Standardized with training statistics.
    frames = np.concatenate([x[:n] for x, n in zip(data.x_train, lengths[0], strict=True)])
    assert np.allclose(frames.mean(axis=0), 0.0, atol=1e-5)
    assert np.allclose(frames.std(axis=0), 1.0, atol=1e-4)


def test_stratified_holdout_takes_the_share_of_every_class():
    labels = np.array([0] * 10 + [1] * 20 + [2] * 3)
    kept, held = stratified_holdout(labels, 0.2, seed=0)
    assert np.bincount(labels[held]).tolist() == [2, 4, 1]
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(len(labels)))


def test_frame_count_matches_the_features_for_a_known_duration():
    rate = 22050
    window, hop = frame_sizes(rate)
    assert (window, hop) == (551, 220)  # 25 ms and 10 ms
    one_second = np.random.default_rng(0).normal(size=rate).astype("float32")
    assert frame_count(rate, rate) == 1 + (rate - 551) // 220 == 98
    assert log_mel(one_second, rate).shape == (98, 40)
    assert mfcc(one_second, rate).shape == (98, 13)
    assert stack_frames(mfcc(one_second, rate), 3).shape == (32, 39)


def test_log_mel_agrees_with_a_direct_tf_signal_computation():
    rate = 16000
    tone = np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype("float32")
    spectrum = tf.abs(tf.signal.stft(tone, 400, 160, 512)) ** 2
    weights = tf.signal.linear_to_mel_weight_matrix(40, 257, rate, 125.0, 7600.0)
    expected = np.log(spectrum.numpy() @ weights.numpy() + 1e-6)
    assert np.allclose(log_mel(tone, rate), expected, atol=1e-3)


def test_deltas_of_a_ramp_are_its_slope():
    ramp = np.arange(20, dtype="float64")[:, None] * np.array([[1.0, -2.0]])
    assert np.allclose(deltas(ramp)[2:-2], [[1.0, -2.0]])


@pytest.mark.parametrize("variant", ["m1", "f3", "klatt", "whisper"])
def test_every_digit_is_spoken_out_loud(variant):
    synthesizer = Synthesizer.shared()
    for word in DIGITS:
        samples = synthesizer.speak(word, Voice("en-us", variant))
        assert len(samples) > 0.2 * synthesizer.sample_rate, word
        assert np.sqrt(np.mean(samples**2)) > 0.01, (word, variant)


def test_synthesis_is_deterministic_per_seed_and_an_unknown_voice_is_an_error():
    jobs = [SpeechJob("four four", Voice("en", variant), 150, 60) for variant in ("f2", "klatt")]
    first, rate = synthesize(jobs, seed=5)
    second, _ = synthesize(jobs, seed=5)
    assert rate == 22050
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    with pytest.raises(RuntimeError, match=r"^eSpeak NG has no voice 'xx-nowhere\+m1'$"):
        synthesize([SpeechJob("one", Voice("xx-nowhere", "m1"), 150, 50)], seed=0)


def test_test_and_validation_voices_never_speak_in_training():
    settings = SpokenDigitsSettings(test_voices=20, validation_voices=10, data_seed=3)
    train, validation, test = voice_splits(settings)
    assert len(test) == 20 and len(validation) == 10
    assert not set(train) & set(test) and not set(train) & set(validation)
    assert not set(test) & set(validation)
    with pytest.raises(DataError, match="leaves no training voice"):
        voice_splits(SpokenDigitsSettings(test_voices=100, validation_voices=100))


def test_ctc_needs_a_blank_between_repeated_digits():
    assert ctc_min_steps([1, 2, 3]) == 3
    assert ctc_min_steps([4, 4, 4]) == 5


SMALL = {"train_size": 24, "validation_size": 8, "test_size": 8, "max_digits": 3}


def test_spoken_digits_is_deterministic_and_keeps_voices_apart():
    settings = SpokenDigitsSettings(**SMALL, data_seed=1)
    data = load_spoken_digits(settings)
    assert data.x_train.shape[0] == 24 and data.x_train.shape[2] == 3 * 39
    test_voices = set(data.facts.voices[2])
    assert test_voices and not test_voices & set(data.facts.voices[0])
    # y packs the frame count, then digit labels (digit + 1) padded with the blank.
    frames = data.y_test[:, 0]
    assert np.array_equal(frames, np.any(data.x_test != 0, axis=-1).sum(axis=1))
    for row, digits in zip(data.y_test, data.facts.test_digits, strict=True):
        assert row[1 : 1 + len(digits)].tolist() == [d + 1 for d in digits]
        assert not row[1 + len(digits) :].any()

    assert load_spoken_digits(settings).digest() == data.digest()
    assert data.facts.sizes == (24, 8, 8)

    other = load_spoken_digits(SpokenDigitsSettings(**SMALL, data_seed=2))
    assert other.digest() != data.digest()


def test_batched_features_equal_one_call_per_waveform():
    rng = np.random.default_rng(0)
    waves = [rng.normal(size=n).astype("float32") for n in (3000, 9000, 551, 400, 12345)]
    batched = batch_features(waves, 22050, mfcc, batch_size=3)
    for wave, features in zip(waves, batched, strict=True):
        assert features.shape == (frame_count(len(wave), 22050), 13)
        if len(features):
            assert np.allclose(features, mfcc(wave, 22050), atol=1e-4)
